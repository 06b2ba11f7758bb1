//! Indexer tests against real anvil nodes and PostgreSQL.

mod common;

mod backfill;
mod crash;
mod escrow;
mod faults;
mod identity;
mod reorg;
