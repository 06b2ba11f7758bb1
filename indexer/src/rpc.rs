//! JSON-RPC access with the failure handling an indexer needs: per-request timeouts, retries with
//! exponential backoff on transient faults (timeouts, 429, 5xx, truncated bodies), and an explicit
//! [`LogsError::RangeTooLarge`] so callers split a `eth_getLogs` range instead of skipping it.

use crate::{IndexerError, IndexerResult, metrics::ChainMetrics};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{
        client::RpcClient,
        types::{Filter, Log},
    },
    transports::{TransportError, TransportErrorKind, http::reqwest},
};
use std::{
    future::{Future, IntoFuture},
    sync::Arc,
    time::Duration,
};

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

/// Why a `eth_getLogs` call failed after retries.
#[derive(Debug)]
pub enum LogsError {
    /// The node refused the range (too many results, range or response too large, or it timed
    /// out on it): split it.
    RangeTooLarge,
    /// A fatal error.
    Fatal(IndexerError),
}

/// A retrying RPC client for one chain.
#[derive(Clone)]
pub struct Rpc {
    provider: DynProvider,
    metrics: Arc<ChainMetrics>,
    max_backoff: Duration,
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

fn is_timeout(err: &TransportError) -> bool {
    let text = err.to_string().to_lowercase();
    text.contains("timed out") || text.contains("timeout")
}

/// Errors no retry fixes (the node rejected the request itself).
fn is_fatal(err: &TransportError) -> bool {
    match err {
        TransportError::ErrorResp(payload) => {
            // Invalid params / method not found: our request is wrong for this node.
            matches!(payload.code, -32601 | -32602) && !is_range_too_large(err)
        }
        TransportError::SerError(_) | TransportError::UnsupportedFeature(_) => true,
        _ => false,
    }
}

impl Rpc {
    /// Connects to `url` with a per-request timeout.
    pub fn new(url: &str, timeout: Duration, metrics: Arc<ChainMetrics>) -> IndexerResult<Self> {
        let url: reqwest::Url = url
            .parse()
            .map_err(|e| IndexerError::Config(format!("invalid rpc url {url:?}: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| IndexerError::Config(format!("http client: {e}")))?;
        let rpc = RpcClient::new_http_with_client(client, url);
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(rpc)
            .erased();
        Ok(Self {
            provider,
            metrics,
            max_backoff: Duration::from_secs(5),
        })
    }

    /// Retries `f` on transient faults with exponential backoff, forever: a range is never
    /// skipped. Fatal errors are returned.
    async fn retry<T, F, Fut>(&self, method: &'static str, mut f: F) -> IndexerResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let mut delay = Duration::from_millis(50);
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(err) if is_fatal(&err) => {
                    return Err(IndexerError::Rpc {
                        method,
                        source: err,
                    });
                }
                Err(err) => {
                    self.metrics.rpc_error();
                    tracing::warn!(method, error = %err, retry_in_ms = delay.as_millis() as u64, "rpc error, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max_backoff);
                }
            }
        }
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> IndexerResult<u64> {
        self.retry("eth_chainId", || self.provider.get_chain_id().into_future())
            .await
    }

    /// The header at `tag` (`latest`, `finalized`, a number); `None` when the node has no such
    /// block (yet, or any more after a reorg).
    pub async fn header(&self, tag: BlockNumberOrTag) -> IndexerResult<Option<Head>> {
        let block = self
            .retry("eth_getBlockByNumber", || {
                self.provider.get_block_by_number(tag).into_future()
            })
            .await?;
        Ok(block.map(|b| Head {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// Logs of `addresses` in `[from, to]`. Transient faults are retried; a refused or timed-out
    /// range is reported as [`LogsError::RangeTooLarge`] (after a couple of timeouts) so the
    /// caller splits it.
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
        let mut delay = Duration::from_millis(50);
        let mut timeouts = 0;
        loop {
            match self.provider.get_logs(&filter).await {
                Ok(logs) => return Ok(logs),
                Err(err) if is_range_too_large(&err) && to > from => {
                    self.metrics.rpc_error();
                    tracing::debug!(from, to, error = %err, "range refused, splitting");
                    return Err(LogsError::RangeTooLarge);
                }
                Err(err) if is_fatal(&err) => {
                    return Err(LogsError::Fatal(IndexerError::Rpc {
                        method: "eth_getLogs",
                        source: err,
                    }));
                }
                Err(err) => {
                    self.metrics.rpc_error();
                    if is_timeout(&err) && to > from {
                        timeouts += 1;
                        if timeouts >= 2 {
                            return Err(LogsError::RangeTooLarge);
                        }
                    }
                    tracing::warn!(from, to, error = %err, retry_in_ms = delay.as_millis() as u64, "eth_getLogs failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.max_backoff);
                }
            }
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
                .retry("eth_getTransactionByHash", || {
                    self.provider.get_transaction_by_hash(*hash).into_future()
                })
                .await?
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
        self.retry("eth_getLogs", || self.provider.get_logs(&filter))
            .await
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
