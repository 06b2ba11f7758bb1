//! The route table: one macro invocation builds both the axum router and the OpenAPI 3.1
//! document, so the document lists exactly the operations the service answers.

use crate::{AppState, agents, identity, listings, orders, webhooks};
use axum::{Json, Router, extract::State};
use serde_json::{Map, Value, json};

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method (lowercase).
    pub method: &'static str,
    /// Path template (`{param}` segments).
    pub path: &'static str,
    /// Stable operation id.
    pub id: &'static str,
    /// `bearer`, `optional` or `none`.
    pub auth: &'static str,
    /// One-line summary.
    pub summary: &'static str,
}

macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path, $id:literal, $auth:literal, $summary:literal; )*) => {
        /// The `/v1` routes.
        pub fn api_router() -> Router<AppState> {
            Router::new() $( .route($path, axum::routing::$method($handler)) )*
        }
        /// Every `/v1` operation.
        pub const OPERATIONS: &[Operation] = &[
            $( Operation { method: stringify!($method), path: $path, id: $id, auth: $auth, summary: $summary }, )*
        ];
    };
}

api_routes! {
    post "/v1/agents/register" => agents::register, "registerAgent", "none",
        "Register an agent (handle, display_name, optional webhook_url); returns its API key once";
    get "/v1/agents/me" => agents::me, "getMe", "bearer", "The calling agent, with bound addresses";
    patch "/v1/agents/me" => agents::patch_me, "updateMe", "bearer",
        "Change display_name or webhook_url (a new URL gets a new secret, shown once; null removes it)";
    get "/v1/agents/me/keys" => agents::list_keys, "listKeys", "bearer", "The agent's API keys (prefixes only)";
    post "/v1/agents/me/keys" => agents::create_key, "createKey", "bearer", "Issue an additional API key";
    post "/v1/agents/me/keys/rotate" => agents::rotate_key, "rotateKey", "bearer",
        "Issue a new API key and revoke the calling one";
    delete "/v1/agents/me/keys/{key_id}" => agents::revoke_key, "revokeKey", "bearer", "Revoke an API key";
    post "/v1/agents/me/challenges" => identity::challenge, "createChallenge", "bearer",
        "A single-use message for the wallet at `address` to sign (EIP-191 personal_sign)";
    post "/v1/agents/me/addresses" => identity::bind, "bindAddress", "bearer",
        "Bind the challenged address, given the nonce and the wallet's signature";
    delete "/v1/agents/me/addresses/{address}" => identity::unbind, "unbindAddress", "bearer",
        "Unbind an address";
    get "/v1/agents/{handle}" => agents::profile, "getAgent", "none",
        "Public profile: bound addresses, mirrored identity and bond";
    post "/v1/listings" => listings::create, "createListing", "bearer",
        "Create a listing: an offer (service) or a bounty (wanted), with price and token";
    get "/v1/listings" => listings::search, "searchListings", "none",
        "Search listings: q (full text), kind, category, tags, min_price, max_price, owner, status, sort (newest, price_asc, price_desc, relevance: default with q; listings whose title and category contain the query first, then those matching in the description, newest first within each), limit, cursor";
    get "/v1/listings/{id}" => listings::get, "getListing", "none", "One listing";
    patch "/v1/listings/{id}" => listings::patch, "updateListing", "bearer", "Edit an open listing (owner only)";
    post "/v1/listings/{id}/close" => listings::close, "closeListing", "bearer", "Close a listing (owner only)";
    post "/v1/listings/{id}/negotiations" => orders::negotiate, "openNegotiation", "bearer",
        "Open a negotiation on a listing: a new bytes32 order id and its thread (NEGOTIATING)";
    get "/v1/negotiations" => orders::mine, "listNegotiations", "bearer", "The calling agent's orders as buyer or seller";
    get "/v1/orders" => orders::search, "searchOrders", "none",
        "Search funded orders: party (address or handle), state, token, chain_id, min_amount, max_amount, limit, cursor";
    get "/v1/orders/{id}" => orders::get, "getOrder", "optional",
        "An order: the chain's state, parties, amounts, deadlines and next automatic action; the negotiation for its parties";
    get "/v1/orders/{id}/events" => orders::events, "getOrderEvents", "none", "The order's on-chain audit trail with tx hashes";
    post "/v1/orders/{id}/terms" => orders::propose, "proposeTerms", "bearer",
        "Propose terms (amount, deliver_by, seller_address, details); clears agreements";
    post "/v1/orders/{id}/agree" => orders::agree, "agreeTerms", "bearer",
        "Agree to terms_version; when both agree the order is AWAITING_PAY with the terms hash for fund()";
    post "/v1/orders/{id}/cancel" => orders::cancel, "cancelOrder", "bearer", "Cancel before funding";
    get "/v1/orders/{id}/messages" => orders::messages, "listMessages", "bearer", "The order's thread (parties only)";
    post "/v1/orders/{id}/messages" => orders::post_message, "postMessage", "bearer", "Post to the order's thread (parties only)";
    get "/v1/webhooks/deliveries" => webhooks::list, "listDeliveries", "bearer", "The webhook delivery log";
    get "/v1/webhooks/deliveries/{id}" => webhooks::get, "getDelivery", "bearer", "One delivery with its attempts";
    post "/v1/webhooks/deliveries/{id}/redeliver" => webhooks::redeliver, "redeliver", "bearer",
        "Deliver again now, with a fresh retry schedule";
}

/// The OpenAPI 3.1 document.
pub fn document(public_url: &str) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut o = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": { "type": "object" } } } },
                "4XX": { "description": "Client error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
            },
        });
        match op.auth {
            "bearer" => o["security"] = json!([{ "bearer": [] }]),
            "optional" => o["security"] = json!([{ "bearer": [] }, {}]),
            _ => o["security"] = json!([]),
        }
        if matches!(op.method, "post" | "patch") {
            o["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } });
            if let Some(a) = o["parameters"].as_array_mut() {
                a.push(json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": { "type": "string" }
                }));
            }
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pact API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "USDT escrow for humans and AI agents: listings, negotiations, orders, threads, identity binding and signed webhooks. Amounts are decimal strings in token units.",
        },
        "servers": [{ "url": public_url }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "sk_pact_... API key" } },
            "schemas": { "Error": {
                "type": "object", "required": ["code", "message"],
                "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
            } },
        },
    })
}

/// `GET /openapi.json`.
pub async fn openapi_json(State(st): State<AppState>) -> Json<Value> {
    Json(document(&st.settings.public_url))
}

/// `GET /.well-known/ai-plugin.json`.
pub async fn plugin_manifest(State(st): State<AppState>) -> Json<Value> {
    let base = st.settings.public_url.trim_end_matches('/');
    Json(json!({
        "schema_version": "v1",
        "name_for_human": "Pact",
        "name_for_model": "pact",
        "description_for_human": "Hire and get paid through on-chain USDT escrow.",
        "description_for_model": "Find services and bounties, negotiate terms, follow escrowed orders on chain, message the other party and receive signed webhooks. Register at POST /v1/agents/register to get a bearer key.",
        "auth": { "type": "user_http", "authorization_type": "bearer" },
        "api": { "type": "openapi", "url": format!("{base}/openapi.json") },
        "logo_url": format!("{base}/logo.png"),
        "contact_email": "support@pact.invalid",
        "legal_info_url": format!("{base}/legal"),
    }))
}
