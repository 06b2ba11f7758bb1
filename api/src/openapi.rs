//! The route table: one macro invocation builds both the axum router and the OpenAPI 3.1
//! document, so the document lists exactly the operations the service answers. A row names the
//! method, path and handler, the operation id, the handler's own client errors and a summary;
//! everything else is read from the handler's signature ([`describe`]): who may call it (the
//! authentication extractor), its JSON body, query and path parameter, its success status and
//! response type. Their JSON Schemas (2020-12, the dialect of OpenAPI 3.1) are derived from
//! those Rust types with `schemars`, so the document follows the code. The integration tests
//! validate real responses against it.

pub mod describe;

use crate::{
    AppState, agents, identity, listings, moi,
    orders::{chain_orders, negotiations},
    threads, webhooks,
};
use axum::{Json, Router, extract::State};
use describe::{SchemaFn, Signature, schema_of, signature_of};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// An empty JSON object: the body of the writes that read none.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method (lowercase).
    pub method: &'static str,
    /// Path template (`{param}` segments).
    pub path: &'static str,
    /// Stable operation id.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The client errors of the handler itself (the layers' are added by [`Operation::client_errors`]).
    pub errors: &'static [u16],
    /// What the handler's signature declares.
    pub signature: Signature,
}

impl Operation {
    const fn new(
        method: &'static str,
        path: &'static str,
        id: &'static str,
        errors: &'static [u16],
        summary: &'static str,
        signature: Signature,
    ) -> Self {
        Self {
            method,
            path,
            id,
            summary,
            errors,
            signature,
        }
    }

    /// `bearer`, `optional` or `none`: the handler's authentication extractor.
    pub const fn auth(&self) -> &'static str {
        self.signature.access.name()
    }

    /// Status of the success response: the handler's reply type.
    pub const fn status(&self) -> u16 {
        self.signature.status
    }

    /// Whether the operation writes with a JSON body (POST, PATCH): the body extractor, the body
    /// limit and the idempotency layer answer for it.
    pub fn is_write(&self) -> bool {
        crate::idempotency::honours(self.method)
    }

    /// Every 4xx status the operation can answer, ascending: its handler's own ([`Self::errors`])
    /// and those of the layers it passes through: 400 (a malformed path, query, body or
    /// `Idempotency-Key`), 401 and 429 (a bearer key: missing, unknown or revoked; over its
    /// rate), and on writes 409 (`idempotency_in_progress`), 413 (`payload_too_large`), 415
    /// (`unsupported_media_type`) and 422 (`idempotency_key_reused`, a body of the wrong shape).
    pub fn client_errors(&self) -> Vec<u16> {
        let mut codes = self.errors.to_vec();
        if self.is_write() || self.signature.path.is_some() || self.signature.query.is_some() {
            codes.push(400);
        }
        if self.auth() != "none" {
            codes.extend([401, 429]);
        }
        if self.is_write() {
            codes.extend([409, 413, 415, 422]);
        }
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path, $id:literal, errors [$($err:literal),*],
        $summary:literal; )*) => {
        /// The `/v1` routes.
        pub fn api_router() -> Router<AppState> {
            Router::new() $( .route($path, axum::routing::$method($handler)) )*
        }
        /// Every `/v1` operation.
        pub const OPERATIONS: &[Operation] = &[
            $( Operation::new(stringify!($method), $path, $id, &[$($err),*], $summary,
                signature_of(&$handler)), )*
        ];
    };
}

api_routes! {
    post "/v1/agents/register" => agents::register, "registerAgent", errors [409, 422, 429],
        "Register an agent (handle, display_name, optional webhook_url); returns its API key once";
    get "/v1/agents/me" => agents::me, "getMe", errors [],
        "The calling agent, with bound addresses";
    patch "/v1/agents/me" => agents::patch_me, "updateMe", errors [422],
        "Change display_name or webhook_url (a new URL gets a new secret, shown once; null removes it)";
    get "/v1/agents/me/keys" => agents::list_keys, "listKeys", errors [],
        "The agent's API keys (prefixes only)";
    post "/v1/agents/me/keys" => agents::create_key, "createKey", errors [422],
        "Issue an additional API key";
    post "/v1/agents/me/keys/rotate" => agents::rotate_key, "rotateKey", errors [422],
        "Issue a new API key and revoke the calling one";
    delete "/v1/agents/me/keys/{key_id}" => agents::revoke_key, "revokeKey", errors [404],
        "Revoke an API key";
    post "/v1/agents/me/challenges" => identity::challenge, "createChallenge", errors [422],
        "A single-use message for the wallet at `address` to sign (EIP-191 personal_sign)";
    post "/v1/agents/me/addresses" => identity::bind, "bindAddress", errors [404, 409, 422],
        "Bind the challenged address, given the nonce and the wallet's signature";
    delete "/v1/agents/me/addresses/{address}" => identity::unbind, "unbindAddress", errors [404, 422],
        "Unbind an address";
    post "/v1/agents/me/moi/challenges" => moi::challenge, "createMoiChallenge", errors [422],
        "A single-use message for the MOI participant (id and its public key) to sign with MOI's ECDSA_S256 signer";
    post "/v1/agents/me/moi/participants" => moi::bind, "bindMoiParticipant", errors [404, 409, 422],
        "Bind the challenged MOI participant, given the nonce and its MOI signature (BLAKE2b-256, DER, parity byte)";
    delete "/v1/agents/me/moi/participants/{participant_id}" => moi::unbind, "unbindMoiParticipant", errors [404, 422],
        "Unbind a MOI participant";
    get "/v1/agents/{handle}" => agents::profile, "getAgent", errors [404],
        "Public profile: bound addresses, mirrored identity and bond";
    post "/v1/listings" => listings::create, "createListing", errors [422],
        "Create a listing: an offer (service) or a bounty (wanted), with price and token";
    get "/v1/listings" => listings::search, "searchListings", errors [422],
        "Search listings: q (full text), kind, category, tags, min_price, max_price, owner, status, sort (newest, price_asc, price_desc, relevance: default with q; listings whose title and category contain the query first, then those matching in the description, newest first within each), limit, cursor";
    get "/v1/listings/{id}" => listings::get, "getListing", errors [404],
        "One listing";
    patch "/v1/listings/{id}" => listings::patch, "updateListing", errors [403, 404, 409, 422],
        "Edit an open listing (owner only)";
    post "/v1/listings/{id}/close" => listings::close, "closeListing", errors [403, 404, 409],
        "Close a listing (owner only)";
    post "/v1/listings/{id}/negotiations" => negotiations::negotiate, "openNegotiation", errors [404, 409, 422],
        "Open a negotiation on a listing: a new bytes32 order id and its thread (NEGOTIATING)";
    get "/v1/negotiations" => negotiations::mine, "listNegotiations", errors [],
        "The calling agent's orders as buyer or seller";
    get "/v1/orders" => chain_orders::search, "searchOrders", errors [],
        "Search funded orders: party (address or handle), state, token, chain_id, min_amount, max_amount, limit, cursor";
    get "/v1/orders/{id}" => chain_orders::get, "getOrder", errors [404],
        "An order: the chain's state, parties, amounts, deadlines and next automatic action; the negotiation for its parties";
    get "/v1/orders/{id}/events" => chain_orders::events, "getOrderEvents", errors [404],
        "The order's on-chain audit trail with tx hashes";
    post "/v1/orders/{id}/terms" => negotiations::propose, "proposeTerms", errors [403, 404, 409, 422],
        "Propose terms (amount, deliver_by, seller_address, details); clears agreements";
    post "/v1/orders/{id}/agree" => negotiations::agree, "agreeTerms", errors [403, 404, 409, 422],
        "Agree to terms_version; when both agree the order is AWAITING_PAY with the terms hash for fund()";
    post "/v1/orders/{id}/cancel" => negotiations::cancel, "cancelOrder", errors [403, 404, 409],
        "Cancel before funding";
    get "/v1/orders/{id}/messages" => threads::messages, "listMessages", errors [403, 404],
        "The order's thread (parties only)";
    post "/v1/orders/{id}/messages" => threads::post_message, "postMessage", errors [403, 404, 422],
        "Post to the order's thread (parties only)";
    get "/v1/webhooks/deliveries" => webhooks::list, "listDeliveries", errors [],
        "The webhook delivery log";
    get "/v1/webhooks/deliveries/{id}" => webhooks::get, "getDelivery", errors [404],
        "One delivery with its attempts";
    post "/v1/webhooks/deliveries/{id}/redeliver" => webhooks::redeliver, "redeliver", errors [404],
        "Deliver again now, with a fresh retry schedule";
}

/// The path parameter `name` of `op`: its type is the handler's `ApiPath<T>`; a string parameter
/// gets the format its handler parses (an order id, a delivery id, an address).
fn path_param(op: &Operation, name: &str) -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema = op
        .signature
        .path
        .map_or_else(|| json!({ "type": "string" }), |p| p(&mut g).to_value());
    if let Some(m) = schema.as_object_mut() {
        m.remove("$schema");
    }
    if schema["type"] == "string" {
        let pattern = match name {
            "id" if op.path.starts_with("/v1/webhooks") => Some("^dlv_[0-9]+$"),
            "id" => Some("^0x[0-9a-fA-F]{64}$"),
            "address" => Some("^0x[0-9a-fA-F]{40}$"),
            _ => None,
        };
        if let Some(p) = pattern {
            schema["pattern"] = json!(p);
        }
    }
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

/// The query parameters of an operation: one per property of its query type.
fn query_params(op: &Operation) -> Vec<Value> {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let Some(query) = op.signature.query else {
        return vec![];
    };
    let schema = query(&mut g);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return vec![];
    };
    props
        .iter()
        .map(|(name, prop)| {
            // A parameter is absent or a value: `Option<T>` is described as T, without `null`.
            let mut prop = prop.as_object().cloned().unwrap_or_default();
            let description = prop.remove("description");
            if prop.get("default").is_some_and(Value::is_null) {
                prop.remove("default");
            }
            if let Some(Value::Array(types)) = prop.get("type") {
                let types: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                if let [one] = types.as_slice() {
                    let one = (*one).clone();
                    prop.insert("type".into(), one);
                }
            }
            let mut p = json!({ "name": name, "in": "query", "required": false, "schema": prop });
            if let Some(d) = description {
                p["description"] = d;
            }
            p
        })
        .collect()
}

/// The response of a client error: the `Error` body (and `Retry-After` on a 429).
fn error_response(code: u16) -> Value {
    let reason = axum::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Client error");
    let mut r = json!({
        "description": format!("{reason}: a stable `code` and a `message`"),
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    });
    if code == 429 {
        r["headers"] = json!({
            "Retry-After": {
                "description": "Seconds until the rate limit window ends",
                "required": true,
                "schema": { "type": "integer", "minimum": 1 },
            }
        });
    }
    r
}

/// The document without `servers` (which depends on the configuration).
fn build() -> Value {
    let settings = |s: SchemaSettings| {
        s.with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
    };
    // Request types are described as they are read, responses as they are written.
    let mut requests = settings(SchemaSettings::draft2020_12().for_deserialize()).into_generator();
    let mut responses = settings(SchemaSettings::draft2020_12().for_serialize()).into_generator();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| path_param(op, p))
            .collect();
        params.extend(query_params(op));
        let success = match op.signature.response {
            None => json!({ "description": "No Content" }),
            Some(body) => json!({
                "description": "OK",
                "content": { "application/json": { "schema": body(&mut responses) } },
            }),
        };
        let mut responses_of = Map::new();
        responses_of.insert(op.status().to_string(), success);
        for code in op.client_errors() {
            responses_of.insert(code.to_string(), error_response(code));
        }
        responses_of.insert(
            "5XX".into(),
            json!({
                "description": "Internal error (`internal`), logged by the server",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }),
        );
        let mut o = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": params,
            "responses": responses_of,
        });
        o["security"] = match op.auth() {
            "bearer" => json!([{ "bearer": [] }]),
            "optional" => json!([{ "bearer": [] }, {}]),
            _ => json!([]),
        };
        if op.is_write() {
            o["requestBody"] = json!({
                "required": op.signature.body.is_some(),
                "content": { "application/json": { "schema": op.signature.body.unwrap_or(schema_of::<Empty> as SchemaFn)(&mut requests) } },
            });
            if let Some(a) = o["parameters"].as_array_mut() {
                a.push(json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "Same key and request: the first response again; same key, another request: 422",
                    "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
                }));
            }
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = o;
    }
    let mut schemas = requests.take_definitions(true);
    for (name, schema) in responses.take_definitions(true) {
        if let Some(other) = schemas.get(&name) {
            // One name, one schema: a type read and written alike is described the same way.
            assert_eq!(
                other, &schema,
                "schema {name} differs between request and response"
            );
        }
        schemas.insert(name, schema);
    }
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": false,
            "properties": {
                "code": { "type": "string", "description": "Stable, e.g. `not_found`, `invalid_query`" },
                "message": { "type": "string", "description": "For humans" },
            },
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pact API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "USDT escrow for humans and AI agents: listings, negotiations, orders, threads, identity binding and signed webhooks. Amounts are decimal strings in token units; `fund` parameters are in base units.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "sk_pact_... API key" } },
            "schemas": schemas,
        },
    })
}

/// The OpenAPI 3.1 document.
pub fn document(public_url: &str) -> Value {
    static DOC: LazyLock<Value> = LazyLock::new(build);
    let mut doc = DOC.clone();
    doc["servers"] = json!([{ "url": public_url }]);
    doc
}

/// The routes outside `/v1`: the service's own metadata (document, manifest and its links, health),
/// not API operations.
pub fn meta_routes() -> Vec<(&'static str, axum::routing::MethodRouter<AppState>)> {
    use axum::routing::get;
    vec![
        ("/openapi.json", get(openapi_json)),
        ("/.well-known/ai-plugin.json", get(plugin_manifest)),
        ("/health", get(|| async { "ok" })),
        ("/logo.svg", get(logo)),
        ("/legal", get(legal)),
    ]
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
        "logo_url": format!("{base}/logo.svg"),
        "contact_email": st.settings.contact_email,
        "legal_info_url": format!("{base}/legal"),
    }))
}

/// `GET /logo.svg`: the manifest's logo, served by the API itself (no CDN).
pub async fn logo() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("../assets/logo.svg"),
    )
}

/// `GET /legal`: the manifest's legal information.
pub async fn legal() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        include_str!("../assets/legal.txt"),
    )
}

#[cfg(test)]
mod tests {
    use super::OPERATIONS;

    #[test]
    fn each_path_parameter_is_read_by_the_handler_and_each_read_one_is_in_the_path() {
        for op in OPERATIONS {
            let templated = op.path.matches('{').count();
            assert!(
                templated <= 1,
                "{}: one path parameter per operation",
                op.path
            );
            assert_eq!(
                templated == 1,
                op.signature.path.is_some(),
                "{} {}: the path template and the handler's ApiPath disagree",
                op.method,
                op.path
            );
        }
    }

    #[test]
    fn only_writes_read_a_json_body() {
        for op in OPERATIONS {
            if !op.is_write() {
                assert!(
                    op.signature.body.is_none(),
                    "{} {} reads a JSON body",
                    op.method,
                    op.path
                );
            }
        }
    }
}
