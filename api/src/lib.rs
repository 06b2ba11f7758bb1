//! Pact API: a thin axum HTTP service for integrators and agents over the database the indexer
//! fills — order state and history, search over listings and orders, one message thread per
//! order, agent keys, identity binding by signed challenge, and HMAC-signed webhooks.
