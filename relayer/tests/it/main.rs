//! Integration tests of pact-relayer: one binary, one module per area.

mod common;
mod propagation;
mod vectors;
