//! JSON-RPC access with the failure handling an indexer needs: per-request timeouts, transient
//! faults (timeouts, 429, 5xx, truncated bodies) resent by alloy's retry layer under
//! [`pact_bindings::rpc::Transient`], and an explicit [`LogsError::RangeTooLarge`] so callers
//! split a `eth_getLogs` range instead of skipping it. What the layer hands back fails the
//! follower's step, which is retried from the committed cursor.

use crate::{IndexerError, IndexerResult, metrics::ChainMetrics};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    transports::{TransportError, TransportErrorKind},
};
use pact_bindings::{
    chain_spec::parse_rpc_url,
    rpc::{self, Transient, is_timeout},
};
use std::{sync::Arc, time::Duration};

/// The parts of a block header the indexer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Unix timestamp.
    pub timestamp: u64,
}

/// Why a `eth_getLogs` call failed.
#[derive(Debug)]
pub enum LogsError {
    /// The node refused the range (too many results, range or response too large, or it timed
    /// out on it): split it.
    RangeTooLarge,
    /// Any other failure, once the transient ones were resent.
    Fatal(IndexerError),
}

/// An RPC client for one chain.
#[derive(Clone)]
pub struct Rpc {
    /// Every request but ranged `eth_getLogs`: transient faults, timeouts included, resent.
    provider: DynProvider,
    /// `eth_getLogs` over more than one block: refusals and timeouts come back (to split the
    /// range); other transient faults are resent.
    ranges: DynProvider,
    metrics: Arc<ChainMetrics>,
}

const TOO_LARGE_HINTS: [&str; 9] = [
    "too many",
    "range too large",
    "block range",
    "limit exceeded",
    "exceeds",
    "response size",
    "query returned more than",
    "max results",
    "range is too large",
];

fn is_range_too_large(err: &TransportError) -> bool {
    match err {
        TransportError::ErrorResp(payload) => {
            let msg = payload.message.to_lowercase();
            TOO_LARGE_HINTS.iter().any(|h| msg.contains(h)) || payload.code == -32005
        }
        TransportError::Transport(TransportErrorKind::HttpError(e)) => e.status == 413,
        _ => false,
    }
}

fn rpc_error(method: &'static str) -> impl FnOnce(TransportError) -> IndexerError {
    move |source| IndexerError::Rpc { method, source }
}

impl Rpc {
    /// Connects to `url` with a per-request timeout.
    pub fn new(url: &str, timeout: Duration, metrics: Arc<ChainMetrics>) -> IndexerResult<Self> {
        let url = parse_rpc_url(url)?;
        let connect = |policy: Transient| -> IndexerResult<DynProvider> {
            let m = metrics.clone();
            let client = rpc::client(
                url.clone(),
                Some(timeout),
                policy.on_retry(move |_| m.rpc_error()),
            )
            .map_err(IndexerError::HttpClient)?;
            Ok(ProviderBuilder::new()
                .disable_recommended_fillers()
                .connect_client(client)
                .erased())
        };
        Ok(Self {
            provider: connect(Transient::default())?,
            ranges: connect(
                Transient::default().except(|e| is_range_too_large(e) || is_timeout(e)),
            )?,
            metrics,
        })
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> IndexerResult<u64> {
        self.provider
            .get_chain_id()
            .await
            .map_err(rpc_error("eth_chainId"))
    }

    /// The header at `tag` (`latest`, `finalized`, a number); `None` when the node has no such
    /// block (yet, or any more after a reorg).
    pub async fn header(&self, tag: BlockNumberOrTag) -> IndexerResult<Option<Head>> {
        let block = self
            .provider
            .get_block_by_number(tag)
            .await
            .map_err(rpc_error("eth_getBlockByNumber"))?;
        Ok(block.map(|b| Head {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// Logs of `addresses` in `[from, to]`. Transient faults are resent; a range of several
    /// blocks the node refused or timed out on is reported as [`LogsError::RangeTooLarge`] so
    /// the caller splits it (a single block is resent like any request).
    pub async fn logs_in_range(
        &self,
        addresses: &[Address],
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, LogsError> {
        let filter = Filter::new()
            .address(addresses.to_vec())
            .from_block(from)
            .to_block(to);
        let provider = if to > from {
            &self.ranges
        } else {
            &self.provider
        };
        match provider.get_logs(&filter).await {
            Ok(logs) => Ok(logs),
            Err(err) if to > from && (is_range_too_large(&err) || is_timeout(&err)) => {
                self.metrics.rpc_error();
                tracing::debug!(from, to, error = %err, "range refused, splitting");
                Err(LogsError::RangeTooLarge)
            }
            Err(err) => Err(LogsError::Fatal(rpc_error("eth_getLogs")(err))),
        }
    }

    /// The calldata of each transaction in `txs`.
    pub async fn inputs(
        &self,
        txs: &[B256],
    ) -> IndexerResult<std::collections::HashMap<B256, Bytes>> {
        let mut out = std::collections::HashMap::with_capacity(txs.len());
        for hash in txs {
            let tx = self
                .provider
                .get_transaction_by_hash(*hash)
                .await
                .map_err(rpc_error("eth_getTransactionByHash"))?
                .ok_or_else(|| {
                    IndexerError::Inconsistent(format!("transaction {hash} not found"))
                })?;
            out.insert(*hash, alloy::consensus::Transaction::input(&tx).clone());
        }
        Ok(out)
    }

    /// Logs of `addresses` in the block with hash `hash` (consistent with that exact block).
    pub async fn logs_at_hash(&self, addresses: &[Address], hash: B256) -> IndexerResult<Vec<Log>> {
        let filter = Filter::new()
            .address(addresses.to_vec())
            .at_block_hash(hash);
        self.provider
            .get_logs(&filter)
            .await
            .map_err(rpc_error("eth_getLogs"))
    }
}

/// Adaptive `eth_getLogs` range size: halves on a refused range, grows while responses are
/// sparse, shrinks when they are dense.
#[derive(Debug, Clone)]
pub struct RangeSizer {
    size: u64,
    min: u64,
    max: u64,
    target_logs: usize,
}

impl RangeSizer {
    /// A sizer starting at `initial` blocks, within `[1, max]`, aiming at `target_logs` per call.
    pub fn new(initial: u64, max: u64, target_logs: usize) -> Self {
        Self {
            size: initial.clamp(1, max.max(1)),
            min: 1,
            max: max.max(1),
            target_logs,
        }
    }

    /// The current range size in blocks.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The node refused a range of `len` blocks.
    pub fn refused(&mut self, len: u64) {
        self.size = (len / 2).max(self.min).min(self.size);
    }

    /// A range of `len` blocks returned `logs` logs.
    pub fn observed(&mut self, len: u64, logs: usize) {
        if len < self.size / 2 {
            return; // a tail range says little
        }
        if logs < self.target_logs / 2 {
            self.size = (self.size.saturating_mul(2)).min(self.max);
        } else if logs > self.target_logs * 2 {
            self.size = (self.size / 2).max(self.min);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSizer;

    #[test]
    fn sizer_grows_when_sparse_and_shrinks_when_refused_or_dense() {
        let mut s = RangeSizer::new(100, 10_000, 1_000);
        s.observed(100, 10);
        assert_eq!(s.size(), 200);
        s.observed(200, 1_000);
        assert_eq!(s.size(), 200, "on target: unchanged");
        s.observed(200, 5_000);
        assert_eq!(s.size(), 100);
        s.refused(100);
        assert_eq!(s.size(), 50);
        for _ in 0..20 {
            s.refused(s.size());
        }
        assert_eq!(s.size(), 1, "never below one block");
        for _ in 0..40 {
            let n = s.size();
            s.observed(n, 0);
        }
        assert_eq!(s.size(), 10_000, "never above max");
    }
}
