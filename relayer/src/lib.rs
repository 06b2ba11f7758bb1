//! Pact relayer: the signer daemons that sign deterministic EIP-712 batches of finalized
//! home-chain identity events, the relayer that lands threshold-signed batches on each satellite
//! chain's Lite contracts, and the keeper that fires the escrow's 72-hour automatic steps.
//!
//! - [`batch`]: the on-chain formats (header, EIP-712 digest, packed updates, signatures).
//! - [`home`]: home-chain events → a deterministic batch plan (window, last-write-wins, cut).
//! - [`signer`]: the signer daemon (one per key), with its equivocation guard in [`store`].
//! - [`relay`]: the relayer (one queue per satellite chain and Lite).
//! - [`tx`]: the persisted nonce manager with fee bumps, shared by the relayer and the keeper.
//! - [`keeper`]: finds escrow orders whose automatic step is due and fires `advanceMany`.

pub mod batch;
pub mod config;
pub mod home;
pub mod keeper;
pub mod relay;
pub mod signer;
pub mod store;
pub mod tx;

/// The one migration history of the Pact database (defined in `pact-db`).
pub use pact_db::MIGRATOR;

/// Errors of the relayer library.
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    /// A JSON-RPC request failed.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A contract call reverted or could not be decoded.
    #[error("contract: {0}")]
    Contract(String),
    /// A database statement failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migrate: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A home-chain log did not decode or broke an invariant.
    #[error("home event: {0}")]
    Home(String),
    /// Signing or recovering a signature failed.
    #[error("signature: {0}")]
    Signature(String),
    /// The daemon refused to sign a second digest for one (chain, Lite, signer set, sequence).
    #[error(
        "refused to equivocate on chain {chain_id} lite {lite} set {signer_set_id} sequence {sequence}: signed {signed} before, asked {asked}"
    )]
    Equivocation {
        /// Satellite chain id.
        chain_id: u64,
        /// Lite address.
        lite: alloy::primitives::Address,
        /// Signer set id.
        signer_set_id: u64,
        /// Sequence.
        sequence: u64,
        /// Digest signed before.
        signed: alloy::primitives::B256,
        /// Digest asked now.
        asked: alloy::primitives::B256,
    },
    /// A transaction could not be landed.
    #[error("transaction: {0}")]
    Tx(String),
    /// Invalid configuration.
    #[error("config: {0}")]
    Config(String),
}

/// Result alias of the relayer library.
pub type RelayerResult<T> = Result<T, RelayerError>;

impl RelayerError {
    pub(crate) fn rpc(e: impl std::fmt::Display) -> Self {
        Self::Rpc(e.to_string())
    }
    pub(crate) fn contract(e: impl std::fmt::Display) -> Self {
        Self::Contract(e.to_string())
    }
}
