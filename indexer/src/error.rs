//! The indexer's error type.

use alloy::transports::TransportError;

/// Everything that can stop the indexer.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// Bad configuration (a clear message naming the field).
    #[error("configuration: {0}")]
    Config(String),
    /// A chain spec or RPC URL was refused.
    #[error("configuration: {0}")]
    ChainSpec(#[from] pact_bindings::chain_spec::ChainSpecError),
    /// A deployment file could not be read.
    #[error("configuration: {0}")]
    Deployment(#[from] pact_bindings::deployment::DeploymentError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    HttpClient(#[source] alloy::transports::http::reqwest::Error),
    /// The RPC failed in a way retrying does not fix.
    #[error("rpc {method}: {source}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// The transport error.
        #[source]
        source: TransportError,
    },
    /// The RPC answered something inconsistent (a missing block, logs of another block).
    #[error("rpc returned inconsistent data: {0}")]
    Inconsistent(String),
    /// A Lite batch's packed updates (from its calldata, matching its `updatesHash`) do not decode.
    #[error("BatchApplied in tx {tx}: packed updates: {source}")]
    LiteUpdates {
        /// The transaction that applied the batch.
        tx: alloy::primitives::B256,
        /// Why they do not decode.
        #[source]
        source: pact_bindings::lite_update::UnpackError,
    },
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A reorg deeper than the stored block window: nothing common was found.
    #[error(
        "chain {chain_id}: reorg deeper than the stored window (no common block at or above {lowest})"
    )]
    ReorgTooDeep {
        /// The chain.
        chain_id: u64,
        /// The lowest stored block that was checked.
        lowest: u64,
    },
}

/// Result alias of the indexer.
pub type IndexerResult<T> = Result<T, IndexerError>;
