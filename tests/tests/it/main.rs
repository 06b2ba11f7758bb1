//! Pact end-to-end tests (one binary; each module is an area).

mod stack;

mod escrow_flows;
mod foundation;
mod happy_path;
mod identity;
mod indexer_restart;
mod keeper_restart;
mod relayer_restart;
mod toolchain;
mod webhook_restart;
