//! One chain's follower: backfill over adaptive ranges with requests in flight, then a live tail
//! block by block with parent-hash checks; reorgs rewind to the fork point and re-index.

use crate::{
    IndexerError, IndexerResult,
    decode::{Batch, Contracts, lite_batch_txs},
    metrics::ChainMetrics,
    rpc::{Head, LogsError, RangeSizer, Rpc},
    store::{Cursor, Store},
};
use alloy::eips::BlockNumberOrTag;
use futures::{StreamExt, stream::FuturesOrdered};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch};

/// When a block counts as safe to index without the live tail's per-block checks
/// (`Confirmations(0)` follows the head itself; reorgs are still detected and undone).
pub use pact_bindings::Finality;

/// Settings of one chain's follower.
#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// Expected chain id (checked against the node).
    pub chain_id: u64,
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// Indexed contracts.
    pub contracts: Contracts,
    /// First block to index when the chain has no cursor yet.
    pub start_block: u64,
    /// Which blocks are indexed.
    pub finality: Finality,
    /// How often the head is polled when idle.
    pub poll_interval: Duration,
    /// First `eth_getLogs` range, in blocks.
    pub initial_range: u64,
    /// Largest `eth_getLogs` range, in blocks.
    pub max_range: u64,
    /// Logs per `eth_getLogs` call the range sizer aims at.
    pub target_logs: usize,
    /// `eth_getLogs` calls in flight during backfill.
    pub concurrency: usize,
    /// Within this many blocks of the indexable head, blocks are taken one at a time (logs by
    /// block hash, parent checked); further back, by ranges.
    pub live_distance: u64,
    /// Blocks kept in the reorg window.
    pub window: u64,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl FollowerConfig {
    /// Defaults for a chain: confirmations 0, 50 ms polling, 4 requests in flight.
    pub fn new(
        chain_id: u64,
        rpc_url: impl Into<String>,
        contracts: Contracts,
        start_block: u64,
    ) -> Self {
        Self {
            chain_id,
            rpc_url: rpc_url.into(),
            contracts,
            start_block,
            finality: Finality::Confirmations(0),
            poll_interval: Duration::from_millis(50),
            initial_range: 16,
            max_range: 50_000,
            target_logs: 10_000,
            concurrency: 4,
            live_distance: 32,
            window: 256,
            request_timeout: Duration::from_secs(20),
        }
    }
}

/// Follows one chain into the store.
pub struct Follower {
    cfg: FollowerConfig,
    rpc: Rpc,
    store: Store,
    metrics: Arc<ChainMetrics>,
}

/// A fetched and decoded range.
struct Fetched {
    batch: Batch,
    end: Head,
    logs: usize,
    len: u64,
    refused: Vec<u64>,
}

impl Follower {
    /// A follower writing into `store`.
    pub fn new(cfg: FollowerConfig, store: Store) -> IndexerResult<Self> {
        if cfg.contracts.is_empty() {
            return Err(IndexerError::Config(format!(
                "chain {}: no contracts to index",
                cfg.chain_id
            )));
        }
        let metrics = ChainMetrics::new(cfg.chain_id);
        let rpc = Rpc::new(&cfg.rpc_url, cfg.request_timeout, metrics.clone())?;
        Ok(Self {
            cfg,
            rpc,
            store,
            metrics,
        })
    }

    /// This follower's metrics.
    pub fn metrics(&self) -> Arc<ChainMetrics> {
        self.metrics.clone()
    }

    /// Runs until `shutdown` turns true. Transient failures (RPC, database, a reorg racing a
    /// fetch) are logged and retried from the committed cursor (first of all the check that the
    /// node serves the configured chain, so a node that is not up yet is waited for);
    /// configuration errors end it.
    #[tracing::instrument(skip_all, fields(chain_id = self.cfg.chain_id))]
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> IndexerResult<()> {
        let mut checked = false;
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let done = match checked {
                false => self.check_chain().await.map(|()| {
                    checked = true;
                    true
                }),
                true => self.step().await,
            };
            let pause = match done {
                Ok(true) => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(false) => self.cfg.poll_interval,
                Err(e @ IndexerError::Config(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        error = &e as &dyn std::error::Error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "step failed; retrying from the committed cursor"
                    );
                    let b = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    b
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Checks that the node serves the configured chain.
    async fn check_chain(&self) -> IndexerResult<()> {
        let node_chain = self.rpc.chain_id().await?;
        if node_chain != self.cfg.chain_id {
            return Err(IndexerError::Config(format!(
                "{} serves chain {node_chain}, but the configuration says chain {}",
                self.cfg.rpc_url, self.cfg.chain_id
            )));
        }
        tracing::info!(rpc = %self.cfg.rpc_url, start = self.cfg.start_block, contracts = self.cfg.contracts.addresses().len(), "following");
        Ok(())
    }

    /// One unit of progress; `false` when there was nothing to do.
    pub async fn step(&self) -> IndexerResult<bool> {
        let cursor = self.store.cursor(self.cfg.chain_id).await?;
        let head = self
            .rpc
            .header(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| IndexerError::Inconsistent("node has no latest block".into()))?;
        self.metrics.set_head(head.number);
        if let Some(c) = cursor {
            self.metrics.set_cursor(c.number);
            // The chain moved under the cursor without a new block on top (a revert, or a reorg
            // to an equally long branch).
            if head.number < c.number || (head.number == c.number && head.hash != c.hash) {
                self.reorg(c, head).await?;
                return Ok(true);
            }
        }
        let safe = match self.cfg.finality {
            Finality::Confirmations(n) => head.number.saturating_sub(n),
            Finality::Finalized => self
                .rpc
                .header(BlockNumberOrTag::Finalized)
                .await?
                .map_or(0, |h| h.number),
        };
        let next = cursor.map_or(self.cfg.start_block, |c| c.number + 1);
        if next > safe {
            return Ok(false);
        }
        if safe - next >= self.cfg.live_distance {
            self.backfill(cursor, next, safe - self.cfg.live_distance)
                .await?;
        } else {
            self.live(cursor, next, safe).await?;
        }
        Ok(true)
    }

    /// Blocks `from..=to` by ranges: fetches run as tasks (several in flight, decoded where they
    /// run), the writer commits them in order as they complete.
    async fn backfill(&self, mut prev: Option<Cursor>, from: u64, to: u64) -> IndexerResult<()> {
        tracing::info!(from, to, "backfill");
        let (tx, mut rx) = mpsc::channel::<Fetched>(self.cfg.concurrency.max(1));
        // The writer owns the receiver: if it fails, the channel closes and the producer stops.
        let writer = async move {
            while let Some(f) = rx.recv().await {
                let to = Cursor {
                    number: f.end.number,
                    hash: f.end.hash,
                };
                self.store
                    .commit(
                        self.cfg.chain_id,
                        &self.cfg.contracts,
                        prev,
                        &f.batch,
                        &[f.end],
                        to,
                        self.cfg.window,
                    )
                    .await?;
                self.metrics.add_events(f.batch.len() as u64);
                self.metrics.set_cursor(to.number);
                prev = Some(to);
            }
            Ok::<_, IndexerError>(())
        };
        let producer = async move {
            let mut sizer = RangeSizer::new(
                self.cfg.initial_range,
                self.cfg.max_range,
                self.cfg.target_logs,
            );
            let mut inflight = FuturesOrdered::new();
            let mut next = from;
            loop {
                while inflight.len() < self.cfg.concurrency.max(1) && next <= to {
                    let end = next.saturating_add(sizer.size() - 1).min(to);
                    let (rpc, contracts) = (self.rpc.clone(), self.cfg.contracts.clone());
                    inflight.push_back(tokio::spawn(fetch_range(rpc, contracts, next, end)));
                    next = end + 1;
                }
                let Some(joined) = inflight.next().await else {
                    break;
                };
                let fetched = joined
                    .map_err(|e| IndexerError::Inconsistent(format!("fetch task: {e}")))??;
                for len in &fetched.refused {
                    sizer.refused(*len);
                }
                sizer.observed(fetched.len, fetched.logs);
                if tx.send(fetched).await.is_err() {
                    break; // the writer failed; its error is reported
                }
            }
            Ok::<_, IndexerError>(())
        };
        let (w, p) = tokio::join!(writer, producer);
        w?;
        p
    }

    /// Blocks `from..=to` one at a time, logs by block hash, each parent checked.
    async fn live(&self, mut prev: Option<Cursor>, from: u64, to: u64) -> IndexerResult<()> {
        for n in from..=to {
            let Some(head) = self.rpc.header(BlockNumberOrTag::Number(n)).await? else {
                return Ok(()); // the chain got shorter: the next step sees it
            };
            if let Some(p) = prev
                && head.parent_hash != p.hash
            {
                self.reorg(p, head).await?;
                return Ok(());
            }
            let logs = self
                .rpc
                .logs_at_hash(self.cfg.contracts.addresses(), head.hash)
                .await?;
            let inputs = self
                .rpc
                .inputs(&lite_batch_txs(&self.cfg.contracts, &logs))
                .await?;
            let batch = Batch::decode(&self.cfg.contracts, &logs, &inputs)?;
            let to = Cursor {
                number: n,
                hash: head.hash,
            };
            self.store
                .commit(
                    self.cfg.chain_id,
                    &self.cfg.contracts,
                    prev,
                    &batch,
                    &[head],
                    to,
                    self.cfg.window,
                )
                .await?;
            self.metrics.add_events(batch.len() as u64);
            self.metrics.set_cursor(n);
            prev = Some(to);
        }
        Ok(())
    }

    /// The chain no longer contains `prev`: find the newest stored block that is still canonical
    /// and rewind to it (everything, when none is).
    async fn reorg(&self, prev: Cursor, seen: Head) -> IndexerResult<()> {
        let mut fork = None;
        for block in self.store.window(self.cfg.chain_id).await? {
            if let Some(h) = self
                .rpc
                .header(BlockNumberOrTag::Number(block.number))
                .await?
                && h.hash == block.hash
            {
                fork = Some(block);
                break;
            }
        }
        match fork {
            Some(f) => tracing::warn!(
                old_head = prev.number,
                fork = f.number,
                depth = prev.number - f.number,
                new_head = seen.number,
                "reorg: rewinding to the fork point"
            ),
            None => tracing::warn!(
                old_head = prev.number,
                "reorg deeper than the stored window: re-indexing from the start block"
            ),
        }
        self.store
            .rewind(
                self.cfg.chain_id,
                &self.cfg.contracts,
                prev,
                fork,
                Cursor {
                    number: seen.number,
                    hash: seen.hash,
                },
            )
            .await?;
        self.metrics.reorg();
        self.metrics.set_cursor(fork.map_or(0, |f| f.number));
        Ok(())
    }
}

/// Fetches `[from, to]`, splitting refused ranges in halves (never skipping one), decodes the
/// logs and reads the header of `to` (the cursor's hash). Logs of block `to` must carry that hash,
/// or a reorg raced the fetch and the step is retried.
async fn fetch_range(rpc: Rpc, contracts: Contracts, from: u64, to: u64) -> IndexerResult<Fetched> {
    let mut logs = Vec::new();
    let mut refused = Vec::new();
    let mut work = std::collections::VecDeque::from([(from, to)]);
    while let Some((a, b)) = work.pop_front() {
        match rpc.logs_in_range(contracts.addresses(), a, b).await {
            Ok(mut l) => logs.append(&mut l),
            Err(LogsError::RangeTooLarge) => {
                refused.push(b - a + 1);
                let mid = a + (b - a) / 2;
                work.push_front((mid + 1, b));
                work.push_front((a, mid));
            }
            Err(LogsError::Fatal(e)) => return Err(e),
        }
    }
    let end = rpc
        .header(BlockNumberOrTag::Number(to))
        .await?
        .ok_or_else(|| {
            IndexerError::Inconsistent(format!("block {to} vanished during backfill"))
        })?;
    if let Some(bad) = logs
        .iter()
        .find(|l| l.block_number == Some(to) && l.block_hash != Some(end.hash))
    {
        return Err(IndexerError::Inconsistent(format!(
            "logs of block {to} carry hash {:?}, header says {}",
            bad.block_hash, end.hash
        )));
    }
    // Nodes that omit `blockTimestamp` in logs: read it from the headers.
    let mut missing: Vec<u64> = logs
        .iter()
        .filter(|l| l.block_timestamp.is_none())
        .filter_map(|l| l.block_number)
        .collect();
    missing.dedup();
    for n in missing {
        let ts = match n == to {
            true => end.timestamp,
            false => {
                rpc.header(BlockNumberOrTag::Number(n))
                    .await?
                    .ok_or_else(|| {
                        IndexerError::Inconsistent(format!("block {n} vanished during backfill"))
                    })?
                    .timestamp
            }
        };
        for log in logs.iter_mut().filter(|l| l.block_number == Some(n)) {
            log.block_timestamp = Some(ts);
        }
    }
    let inputs = rpc.inputs(&lite_batch_txs(&contracts, &logs)).await?;
    let batch = Batch::decode(&contracts, &logs, &inputs)?;
    Ok(Fetched {
        batch,
        end,
        logs: logs.len(),
        len: to - from + 1,
        refused,
    })
}
