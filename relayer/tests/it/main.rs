//! Integration tests of pact-relayer: one binary, one module per area.

mod bench;
mod binary;
mod common;
mod faults;
mod keeper;
mod nonce;
mod propagation;
mod vectors;
