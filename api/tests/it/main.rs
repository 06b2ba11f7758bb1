//! pact-api tests: the real server on port 0 over a fresh PostgreSQL database, real HTTP.

mod common;

mod agents;
mod identity;
mod listings;
mod moi;
mod openapi;
mod orders;
mod reorg;
mod webhooks;
