//! Pact end-to-end tests (one binary; each module is an area).

mod foundation;
mod happy_path;
mod toolchain;
