//! Pact indexer: mirrors the escrow and identity contracts' events from one or more chains into
//! PostgreSQL, exactly once, surviving reorgs, restarts and flaky RPC.
//!
//! The chain cursor is written in the same transaction as the rows it covers, so a crash at any
//! point resumes without loss or duplication.
