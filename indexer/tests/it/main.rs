//! Indexer tests against real anvil nodes and PostgreSQL.

mod common;

mod backfill;
mod crash;
mod faults;
mod reorg;
