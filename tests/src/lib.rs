//! Whole-stack tests for Pact: real anvil chains, real PostgreSQL, real processes.
//!
//! The tests live in `tests/it/` (one integration-test binary, `mod` per area); this library holds
//! what they share beyond [`pact_testkit`].

pub use pact_testkit as testkit;
