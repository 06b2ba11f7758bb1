//! Per-chain counters and gauges, served in the Prometheus text format at `/metrics`.

use std::{
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Instant,
};

/// Counters of one chain's follower.
#[derive(Debug)]
pub struct ChainMetrics {
    /// The chain.
    pub chain_id: u64,
    head: AtomicU64,
    cursor: AtomicU64,
    events: AtomicU64,
    rpc_errors: AtomicU64,
    reorgs: AtomicU64,
    started: Instant,
}

impl ChainMetrics {
    /// Fresh counters for `chain_id`.
    pub fn new(chain_id: u64) -> Arc<Self> {
        Arc::new(Self {
            chain_id,
            head: AtomicU64::new(0),
            cursor: AtomicU64::new(0),
            events: AtomicU64::new(0),
            rpc_errors: AtomicU64::new(0),
            reorgs: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// The node's head moved.
    pub fn set_head(&self, n: u64) {
        self.head.fetch_max(n, Relaxed);
    }
    /// The cursor moved (also backwards, on a reorg).
    pub fn set_cursor(&self, n: u64) {
        self.cursor.store(n, Relaxed);
    }
    /// `n` events were committed.
    pub fn add_events(&self, n: u64) {
        self.events.fetch_add(n, Relaxed);
    }
    /// An RPC call failed (and was retried or split).
    pub fn rpc_error(&self) {
        self.rpc_errors.fetch_add(1, Relaxed);
    }
    /// A reorg was handled.
    pub fn reorg(&self) {
        self.reorgs.fetch_add(1, Relaxed);
    }
    /// Events committed since start.
    pub fn events(&self) -> u64 {
        self.events.load(Relaxed)
    }
    /// RPC errors since start.
    pub fn rpc_errors(&self) -> u64 {
        self.rpc_errors.load(Relaxed)
    }
    /// Reorgs handled since start.
    pub fn reorgs(&self) -> u64 {
        self.reorgs.load(Relaxed)
    }
    /// Blocks between the node's head and the cursor.
    pub fn blocks_behind(&self) -> u64 {
        self.head
            .load(Relaxed)
            .saturating_sub(self.cursor.load(Relaxed))
    }

    fn render(&self, out: &mut String) {
        let c = self.chain_id;
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "pact_indexer_head_block{{chain_id=\"{c}\"}} {}",
            self.head.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "pact_indexer_cursor_block{{chain_id=\"{c}\"}} {}",
            self.cursor.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "pact_indexer_blocks_behind{{chain_id=\"{c}\"}} {}",
            self.blocks_behind()
        );
        let _ = writeln!(
            out,
            "pact_indexer_events_total{{chain_id=\"{c}\"}} {}",
            self.events()
        );
        let _ = writeln!(
            out,
            "pact_indexer_events_per_second{{chain_id=\"{c}\"}} {:.1}",
            self.events() as f64 / secs
        );
        let _ = writeln!(
            out,
            "pact_indexer_rpc_errors_total{{chain_id=\"{c}\"}} {}",
            self.rpc_errors()
        );
        let _ = writeln!(
            out,
            "pact_indexer_reorgs_total{{chain_id=\"{c}\"}} {}",
            self.reorgs()
        );
    }
}

/// Renders all chains' metrics in the Prometheus text format.
pub fn render(chains: &[Arc<ChainMetrics>]) -> String {
    let mut out = String::new();
    for m in chains {
        m.render(&mut out);
    }
    out
}

/// Serves `/metrics` and `/health` on `addr` until the process ends.
pub async fn serve(
    addr: std::net::SocketAddr,
    chains: Vec<Arc<ChainMetrics>>,
) -> std::io::Result<()> {
    use axum::{Router, routing::get};
    let chains = Arc::new(chains);
    let app = Router::new()
        .route("/metrics", get(move || async move { render(&chains) }))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics listening");
    axum::serve(listener, app).await
}
