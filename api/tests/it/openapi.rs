//! The OpenAPI document and the plugin manifest describe every operation, and real responses
//! (and the requests that produced them) match the document's schemas.

use crate::{common::*, moi::MoiWallet};
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use serde_json::{Map, Value, json};
use std::sync::Mutex;

/// A path of the template `path`, with a value for each parameter.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{handle}", "x")
        .replace("{key_id}", "1")
        .replace("{address}", "0x00")
        .replace("{participant_id}", "0x00")
}

#[tokio::test]
async fn openapi_lists_every_operation_and_the_manifest_points_at_it() {
    let app = App::spawn().await;
    let (s, doc) = app.get("/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for op in pact_api::openapi::OPERATIONS {
        let o = &doc["paths"][op.path][op.method];
        assert_eq!(o["operationId"], op.id, "{} {}", op.method, op.path);
    }
    let n: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(n, pact_api::openapi::OPERATIONS.len());
    assert!(n >= 29);
    // Every documented operation is routed (no 404 "route not found"/405 from the router).
    for op in pact_api::openapi::OPERATIONS {
        let path = concrete(op.path);
        let (s, v) = app
            .call(&op.method.to_uppercase(), &path, None, None, None)
            .await;
        assert!(
            s != 405 && !(s == 404 && v["message"] == "route not found"),
            "{} {path}: {s} {v}",
            op.method
        );
    }
    // And the router serves nothing on these paths the document does not list: every other
    // method answers 405 with an `Allow` header naming exactly the documented methods.
    let paths = doc["paths"].as_object().unwrap();
    for (template, methods) in paths {
        let path = concrete(template);
        let mut documented: Vec<String> = methods.as_object().unwrap().keys().cloned().collect();
        documented.sort();
        for method in ["get", "post", "put", "patch", "delete"] {
            if documented.iter().any(|m| m == method) {
                continue;
            }
            let r = app
                .http
                .request(
                    alloy::transports::http::reqwest::Method::from_bytes(
                        method.to_uppercase().as_bytes(),
                    )
                    .unwrap(),
                    format!("{}{path}", app.base),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 405, "{method} {template}");
            let mut allow: Vec<String> = r.headers()["allow"]
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_lowercase())
                .filter(|m| m != "head")
                .collect();
            allow.sort();
            assert_eq!(allow, documented, "{method} {template}");
        }
    }
    // Outside /v1 the service serves only its own metadata, none of it an API operation.
    for (route, _) in pact_api::openapi::meta_routes() {
        assert!(!route.starts_with("/v1"), "{route}");
        assert!(paths.get(route).is_none(), "{route}");
        let r = app
            .http
            .get(format!("{}{route}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{route}");
    }
    let (s, m) = app.get("/.well-known/ai-plugin.json", None).await;
    assert_eq!(s, 200);
    assert!(m["api"]["url"].as_str().unwrap().ends_with("/openapi.json"));
    assert_eq!(m["auth"]["authorization_type"], "bearer");
    // The manifest's links answer (served by the API itself) and the contact is the operator's.
    for (field, ctype) in [
        ("logo_url", "image/svg+xml"),
        ("legal_info_url", "text/plain"),
    ] {
        let url = m[field].as_str().unwrap();
        let path = url.trim_start_matches("http://localhost:8080");
        assert_ne!(path, url, "{field} is under the public URL: {url}");
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{field} {url}");
        let got = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(got.starts_with(ctype), "{field}: {got}");
        assert!(!r.bytes().await.unwrap().is_empty());
    }
    assert_eq!(m["contact_email"], "operator@localhost");
}

#[tokio::test]
async fn the_document_has_request_response_and_error_schemas_for_every_operation() {
    let app = App::spawn().await;
    let (_, doc) = app.get("/openapi.json", None).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({ "type": "http", "scheme": "bearer", "description": "sk_pact_... API key" })
    );
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut s = schema.clone();
        s["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        assert!(
            jsonschema::meta::is_valid(&s),
            "{name} is not JSON Schema 2020-12"
        );
    }
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let list_gets = [
        "searchListings",
        "searchOrders",
        "listNegotiations",
        "getOrderEvents",
        "listMessages",
        "listDeliveries",
    ];
    for op in pact_api::openapi::OPERATIONS {
        let o = &doc["paths"][op.path][op.method];
        let what = format!("{} {}", op.method, op.path);
        // Every client error the operation can answer is declared, with the error schema (and
        // no range): generated clients and schemathesis (ST202) see each status.
        assert!(o["responses"]["4XX"].is_null(), "{what}");
        let declared: Vec<u16> = o["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse::<u16>().ok())
            .filter(|c| (400..500).contains(c))
            .collect();
        assert_eq!(declared, op.client_errors(), "{what}");
        for code in &declared {
            let r = &o["responses"][code.to_string()];
            assert_eq!(
                r["content"]["application/json"]["schema"], error,
                "{what} {code}"
            );
        }
        assert_eq!(declared.contains(&401), op.auth() != "none", "{what}");
        if op.auth() != "none" {
            assert_eq!(
                o["responses"]["429"]["headers"]["Retry-After"]["required"], true,
                "{what}"
            );
        }
        // The Idempotency-Key header is declared, optional, exactly where the server honours it.
        let idem: Vec<&Value> = o["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header" && p["name"] == "Idempotency-Key")
            .collect();
        if matches!(op.method, "post" | "patch") {
            assert_eq!(idem.len(), 1, "{what}");
            assert_eq!(idem[0]["required"], false, "{what}");
            assert!(declared.contains(&422) && declared.contains(&409), "{what}");
        } else {
            assert!(idem.is_empty(), "{what}");
        }
        let ok = &o["responses"][op.status().to_string()];
        if op.status() == 204 {
            assert!(ok["content"].is_null(), "{what}");
        } else {
            assert!(
                ok["content"]["application/json"]["schema"]["$ref"].is_string(),
                "{what}: no success schema"
            );
        }
        if matches!(op.method, "post" | "patch") {
            assert!(
                o["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(),
                "{what}: no request body schema"
            );
        }
        match op.auth() {
            "bearer" => assert_eq!(o["security"], json!([{ "bearer": [] }]), "{what}"),
            "optional" => assert_eq!(o["security"], json!([{ "bearer": [] }, {}]), "{what}"),
            _ => assert_eq!(o["security"], json!([]), "{what}"),
        }
        let query: Vec<&str> = o["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        if list_gets.contains(&op.id) {
            assert!(
                query.contains(&"limit") && query.contains(&"cursor"),
                "{what}: {query:?}"
            );
        }
    }
    let params = &doc["paths"]["/v1/listings"]["get"]["parameters"];
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["type"], "integer");
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(100))
    );
    // The request schemas refuse what the handlers refuse.
    let create = schema_validator(
        &doc,
        &doc["paths"]["/v1/listings"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    let good = json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "1.5" });
    assert!(create.is_valid(&good));
    for bad in [
        json!({ "kind": "sale", "title": "Audit", "description": "d", "category": "dev", "price": "1" }),
        json!({ "title": "Audit", "description": "d", "category": "dev", "price": "1" }),
        json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": 1 }),
        json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "1", "x": 1 }),
    ] {
        assert!(!create.is_valid(&bad), "{bad}");
    }
}

/// A validator for `schema` (usually a `$ref` into the document's components).
fn schema_validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root: Map<String, Value> = schema.as_object().cloned().unwrap_or_default();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("components".into(), doc["components"].clone());
    jsonschema::validator_for(&Value::Object(root)).unwrap()
}

/// One request and its answer.
struct Exchange {
    method: String,
    path: String,
    request: Option<Value>,
    status: u16,
    response: Value,
}

/// Calls the API and keeps every exchange.
struct Recorder<'a> {
    app: &'a App,
    log: Mutex<Vec<Exchange>>,
}

impl Recorder<'_> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (status, response) = self.app.call(method, path, key, body.clone(), None).await;
        self.log.lock().unwrap().push(Exchange {
            method: method.to_lowercase(),
            path: path.to_string(),
            request: body,
            status,
            response: response.clone(),
        });
        response
    }
    async fn get(&self, path: &str, key: Option<&str>) -> Value {
        self.call("GET", path, key, None).await
    }
    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Value {
        self.call("POST", path, key, Some(body)).await
    }
}

/// The operation a concrete path answers to: the template with the most literal segments.
fn operation_for(method: &str, path: &str) -> &'static pact_api::openapi::Operation {
    let segments: Vec<&str> = path.split('/').collect();
    pact_api::openapi::OPERATIONS
        .iter()
        .filter(|op| op.method == method)
        .filter(|op| {
            let t: Vec<&str> = op.path.split('/').collect();
            t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s)
        })
        .max_by_key(|op| op.path.split('/').filter(|t| !t.starts_with('{')).count())
        .unwrap_or_else(|| panic!("no operation for {method} {path}"))
}

async fn bind(rec: &Recorder<'_>, key: &str) -> String {
    let signer = PrivateKeySigner::random();
    let addr = signer.address().to_string();
    let c = rec
        .post(
            "/v1/agents/me/challenges",
            Some(key),
            json!({ "address": addr }),
        )
        .await;
    let sig = signer
        .sign_message_sync(c["message"].as_str().unwrap().as_bytes())
        .unwrap();
    let b = rec
        .post(
            "/v1/agents/me/addresses",
            Some(key),
            json!({ "nonce": c["nonce"], "signature": format!("0x{}", hex::encode(sig.as_bytes())) }),
        )
        .await;
    b["address"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn real_responses_match_the_document() {
    let app = App::spawn().await;
    let rec = Recorder {
        app: &app,
        log: Mutex::new(vec![]),
    };
    let hook = "http://127.0.0.1:9/hook";
    let r = rec
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": "alice", "display_name": "Alice", "webhook_url": hook }),
        )
        .await;
    let alice = r["api_key"].as_str().unwrap().to_string();
    let r = rec
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": "bob", "display_name": "Bob" }),
        )
        .await;
    let bob = r["api_key"].as_str().unwrap().to_string();
    let a = Some(alice.as_str());
    let b = Some(bob.as_str());
    // Both may buy (bob on alice's offer, alice on bob's bounty): both bind a wallet first.
    app.bind_wallet(&alice).await;
    app.bind_wallet(&bob).await;

    // Agents, keys, identity.
    rec.get("/v1/agents/me", a).await;
    rec.call(
        "PATCH",
        "/v1/agents/me",
        a,
        Some(json!({ "display_name": "Alice A." })),
    )
    .await;
    rec.get("/v1/agents/me/keys", a).await;
    let extra = rec.call("POST", "/v1/agents/me/keys", a, None).await;
    let rotated = rec
        .call(
            "POST",
            "/v1/agents/me/keys/rotate",
            extra["api_key"].as_str(),
            None,
        )
        .await;
    rec.call(
        "DELETE",
        &format!("/v1/agents/me/keys/{}", rotated["key_id"]),
        a,
        None,
    )
    .await;
    let seller = bind(&rec, &alice).await;
    let spare = bind(&rec, &alice).await;
    rec.call(
        "DELETE",
        &format!("/v1/agents/me/addresses/{spare}"),
        a,
        None,
    )
    .await;
    for (i, w) in [MoiWallet::new(), MoiWallet::new()].iter().enumerate() {
        let c = rec
            .post(
                "/v1/agents/me/moi/challenges",
                a,
                json!({ "participant_id": w.participant_id, "public_key": w.public_key }),
            )
            .await;
        let sig = w.sign(c["message"].as_str().unwrap());
        rec.post(
            "/v1/agents/me/moi/participants",
            a,
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
        if i == 1 {
            let path = format!("/v1/agents/me/moi/participants/{}", w.participant_id);
            rec.call("DELETE", &path, a, None).await;
        }
    }
    rec.get("/v1/agents/alice", None).await;

    // Listings and search.
    let l = rec
        .post(
            "/v1/listings",
            a,
            json!({ "kind": "offer", "title": "Rust audit", "description": "Two days", "category": "audit", "tags": ["rust"], "price": "25.5" }),
        )
        .await;
    let listing = l["id"].as_i64().unwrap();
    rec.get(&format!("/v1/listings/{listing}"), None).await;
    rec.call(
        "PATCH",
        &format!("/v1/listings/{listing}"),
        a,
        Some(json!({ "price": "30", "tags": ["rust", "audit"] })),
    )
    .await;
    rec.post(
        "/v1/listings",
        a,
        json!({ "kind": "bounty", "title": "Rust indexer wanted", "description": "Fast", "category": "dev", "price": "5" }),
    )
    .await;
    let page = rec.get("/v1/listings?q=rust&limit=1", None).await;
    rec.get(
        &format!(
            "/v1/listings?q=rust&limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
        None,
    )
    .await;
    rec.get(
        "/v1/listings?kind=offer&tags=rust&min_price=1&max_price=100&sort=price_asc",
        None,
    )
    .await;

    // Negotiation to agreed terms, the thread.
    let o = rec
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            b,
            json!({}),
        )
        .await;
    let id = o["order_id"].as_str().unwrap().to_string();
    let t = rec
        .post(
            &format!("/v1/orders/{id}/terms"),
            a,
            json!({ "seller_address": seller, "deliver_by": T0 + 86400, "amount": "30", "details": "PR" }),
        )
        .await;
    for key in [b, a] {
        rec.post(
            &format!("/v1/orders/{id}/agree"),
            key,
            json!({ "terms_version": t["terms"]["version"] }),
        )
        .await;
    }
    rec.get(&format!("/v1/orders/{id}"), b).await;
    rec.get("/v1/negotiations?limit=5", b).await;
    rec.post(
        &format!("/v1/orders/{id}/messages"),
        b,
        json!({ "body": "Starting tomorrow?" }),
    )
    .await;
    rec.get(&format!("/v1/orders/{id}/messages"), a).await;

    // Funded on-chain (the indexer's rows): the chain's view, its events, order search.
    let buyer = alloy::primitives::Address::repeat_byte(0xb0);
    let seller_addr: alloy::primitives::Address = seller.parse().unwrap();
    chain_order(
        &app.pool,
        &id,
        buyer,
        seller_addr,
        "30000000",
        "ESCROWED",
        7,
        Some(("REFUND_EXPIRED", T0 + 86400)),
    )
    .await;
    chain_event(&app.pool, &id, 7, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 7).await;
    rec.get(&format!("/v1/orders/{id}"), a).await;
    rec.get(&format!("/v1/orders/{id}"), None).await;
    rec.get(&format!("/v1/orders/{id}/events?limit=10"), None)
        .await;
    rec.get("/v1/orders?party=alice&state=ESCROWED&min_amount=1", None)
        .await;

    // Closing, cancelling.
    let l2 = rec
        .post(
            "/v1/listings",
            a,
            json!({ "kind": "offer", "title": "Logo", "description": "SVG", "category": "design", "price": "3" }),
        )
        .await;
    let o2 = rec
        .post(
            &format!("/v1/listings/{}/negotiations", l2["id"]),
            b,
            json!({ "amount": "2.5" }),
        )
        .await;
    rec.call(
        "POST",
        &format!("/v1/orders/{}/cancel", o2["order_id"].as_str().unwrap()),
        b,
        None,
    )
    .await;
    rec.call("POST", &format!("/v1/listings/{}/close", l2["id"]), a, None)
        .await;

    // Webhook deliveries of alice (her webhook does not answer).
    let d = rec.get("/v1/webhooks/deliveries?limit=2", a).await;
    let dlv = d["items"][0]["id"].as_str().unwrap().to_string();
    eventually("a delivery attempt", || async {
        let (_, v) = app.get(&format!("/v1/webhooks/deliveries/{dlv}"), a).await;
        (v["attempts"].as_i64() > Some(0)).then_some(())
    })
    .await;
    rec.get(&format!("/v1/webhooks/deliveries/{dlv}"), a).await;
    rec.call(
        "POST",
        &format!("/v1/webhooks/deliveries/{dlv}/redeliver"),
        a,
        None,
    )
    .await;

    // Client errors.
    rec.get("/v1/listings/999999", None).await;
    rec.get("/v1/listings?sort=best", None).await;
    rec.get("/v1/agents/me", None).await;
    rec.post("/v1/listings", a, json!({ "kind": "offer" }))
        .await;
    rec.post(
        &format!("/v1/orders/{id}/agree"),
        a,
        json!({ "terms_version": 99 }),
    )
    .await;

    // Every exchange against the document.
    let (_, doc) = app.get("/openapi.json", None).await;
    let mut answered = std::collections::BTreeSet::new();
    let log = rec.log.lock().unwrap();
    for x in log.iter() {
        let (path, query) = x.path.split_once('?').unwrap_or((&x.path, ""));
        let op = operation_for(&x.method, path);
        let o = &doc["paths"][op.path][op.method];
        let what = format!("{} {} → {}", x.method, x.path, x.status);
        let declared: Vec<&str> = o["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap();
            assert!(
                declared.contains(&name),
                "{what}: undocumented query parameter {name}"
            );
        }
        if let Some(body) = &x.request {
            let schema = &o["requestBody"]["content"]["application/json"]["schema"];
            let v = schema_validator(&doc, schema);
            let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
            // Requests the server refused may break the schema; accepted ones must not.
            if x.status < 400 {
                assert!(errors.is_empty(), "{what}: request {body}: {errors:?}");
            }
        }
        let schema = if x.status >= 400 {
            assert!(x.status < 500, "{what}");
            assert!(
                op.client_errors().contains(&x.status),
                "{what}: undeclared status"
            );
            &o["responses"][x.status.to_string()]["content"]["application/json"]["schema"]
        } else {
            assert_eq!(x.status, op.status(), "{what}: undocumented status");
            answered.insert(op.id);
            &o["responses"][x.status.to_string()]["content"]["application/json"]["schema"]
        };
        if x.status == 204 {
            assert!(x.response.is_null(), "{what}");
            continue;
        }
        let v = schema_validator(&doc, schema);
        let errors: Vec<String> = v
            .iter_errors(&x.response)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {}: {errors:?}", x.response);
    }
    let missed: Vec<&str> = pact_api::openapi::OPERATIONS
        .iter()
        .map(|op| op.id)
        .filter(|id| !answered.contains(id))
        .collect();
    assert!(missed.is_empty(), "operations not exercised: {missed:?}");
    // The schemas are strict enough to notice a change of shape.
    let listing_schema = json!({ "$ref": "#/components/schemas/Listing" });
    let v = schema_validator(&doc, &listing_schema);
    let created = log
        .iter()
        .find(|x| x.method == "post" && x.path == "/v1/listings" && x.status == 201)
        .unwrap();
    let mut changed = created.response.clone();
    assert!(v.is_valid(&changed));
    changed["price"] = json!(30);
    assert!(!v.is_valid(&changed));
    changed.as_object_mut().unwrap().remove("price");
    assert!(!v.is_valid(&changed));
}
