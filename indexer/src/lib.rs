//! Pact indexer: mirrors the escrow, token and identity contracts' events from one or more chains
//! into PostgreSQL, exactly once, surviving reorgs, restarts and flaky RPC.
//!
//! Per chain, a [`follower::Follower`] walks the chain from its cursor:
//! - **backfill**: `eth_getLogs` over adaptive block ranges ([`rpc::RangeSizer`]) with several
//!   requests in flight, decoded as they arrive, written in order;
//! - **live tail**: one block at a time, logs fetched by block hash, parent hashes checked
//!   against the stored window ([`store::Store::rewind`] on a mismatch).
//!
//! Every write ([`store::Store::commit`]) puts the decoded rows (PostgreSQL binary `COPY`), the
//! block window and the chain cursor in **one transaction** and sends a `NOTIFY` that is delivered
//! on commit, so a `kill -9` at any point resumes without losing or doubling a row.

pub mod config;
pub mod copy;
pub mod decode;
pub mod error;
pub mod escrow;
pub mod escrow_store;
pub mod follower;
pub mod identity;
pub mod log_meta;
pub mod metrics;
pub mod rpc;
pub mod store;
pub mod stored;

pub use error::{IndexerError, IndexerResult};

/// The one migration history of the Pact database (defined in `pact-db`).
pub use pact_db::MIGRATOR;
