//! Pact relayer: the signer daemons that sign deterministic EIP-712 batches of finalized
//! home-chain identity events, the relayer that lands threshold-signed batches on each satellite
//! chain's Lite contracts, and the keeper that fires the escrow's 72-hour automatic steps.
//!
//! - [`batch`]: the on-chain formats (header, EIP-712 digest, packed updates, signatures).
//! - [`home`]: home-chain events → a deterministic batch plan (window, last-write-wins, cut).
//! - [`signer`]: the signer daemon (one per key), with its equivocation guard in [`store`].
//! - [`relay`]: the relayer (one queue per satellite chain and Lite).
//! - [`lite`]: a Lite's state (pause flag, watermark, signer set) read at one satellite block.
//! - [`tx`]: the persisted nonce manager with fee bumps, shared by the relayer and the keeper.
//! - [`keeper`]: finds escrow orders whose automatic step is due and fires `advanceMany`.

pub mod batch;
pub mod config;
pub mod home;
pub mod keeper;
pub mod lite;
pub mod relay;
pub mod signer;
pub mod store;
pub mod tx;

/// The one migration history of the Pact database (defined in `pact-db`).
pub use pact_db::MIGRATOR;

/// Errors of the relayer library. Each keeps the error it wraps as its `source()`, so the
/// whole chain of causes is logged (the services log errors as `&dyn Error`).
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    /// A JSON-RPC request failed (after the transient failures were resent).
    #[error("rpc {method}: {source}")]
    Rpc {
        /// The JSON-RPC method.
        method: &'static str,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// The node answered without a block that must exist.
    #[error("rpc: the node has no {0}")]
    Missing(&'static str),
    /// A contract call reverted or could not be decoded.
    #[error("contract {call}: {source}")]
    Contract {
        /// The contract function.
        call: &'static str,
        /// The call's error (boxed: it is large).
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// A database statement failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migrate: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A home-chain log did not decode or broke an invariant.
    #[error("home event: {0}")]
    Home(String),
    /// Signing a digest or a transaction failed.
    #[error("signature: {0}")]
    Signature(#[from] alloy::signers::Error),
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
    /// A chain spec or RPC URL was refused.
    #[error("config: {0}")]
    ChainSpec(#[from] pact_bindings::chain_spec::ChainSpecError),
    /// A deployment file could not be read.
    #[error("config: {0}")]
    Deployment(#[from] pact_bindings::deployment::DeploymentError),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    HttpClient(#[source] alloy::transports::http::reqwest::Error),
    /// A task panicked or was cancelled.
    #[error("task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Result alias of the relayer library.
pub type RelayerResult<T> = Result<T, RelayerError>;

impl RelayerError {
    /// Wraps the failure of JSON-RPC `method` (for `map_err`).
    pub(crate) fn rpc(
        method: &'static str,
    ) -> impl FnOnce(alloy::transports::TransportError) -> Self {
        move |source| Self::Rpc { method, source }
    }

    /// Wraps the failure of contract function `call` (for `map_err`).
    pub(crate) fn contract(call: &'static str) -> impl FnOnce(alloy::contract::Error) -> Self {
        move |source| Self::Contract {
            call,
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    /// The innermost cause of `e` that is an `io::Error`.
    fn io_cause<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a std::io::Error> {
        std::iter::successors(Some(e), |e| (*e).source()).find_map(|e| e.downcast_ref())
    }

    #[test]
    fn errors_keep_their_cause_as_source() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = RelayerError::rpc("eth_blockNumber")(
            alloy::transports::TransportErrorKind::custom(refused),
        );
        assert!(e.to_string().starts_with("rpc eth_blockNumber: "), "{e}");
        assert_eq!(
            io_cause(&e).map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionRefused)
        );

        let missing = pact_bindings::Deployment::load("/nonexistent/31337.json").unwrap_err();
        let e = RelayerError::from(missing);
        assert!(
            e.to_string()
                .contains("cannot read deployment file /nonexistent/31337.json"),
            "{e}"
        );
        assert_eq!(
            io_cause(&e).map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );

        let spec = pact_bindings::chain_spec::parse_rpc_url("http://[::1").unwrap_err();
        let e = RelayerError::from(spec);
        assert!(
            e.source()
                .and_then(|s| s.source())
                .is_some_and(|s| s.is::<url::ParseError>()),
            "{e:?}"
        );
    }
}
