//! Registration, keys, authentication, error model, rate limits and idempotency.

use crate::common::*;
use alloy::transports::http::reqwest;
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn register_shows_the_key_once_and_stores_only_its_hash() {
    let app = App::spawn().await;
    let (s, v) = app
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": "alice", "display_name": "Alice" }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let key = v["api_key"].as_str().unwrap();
    assert!(key.starts_with("sk_pact_") && key.len() == 8 + 64);
    let stored: Vec<(Vec<u8>, String)> = sqlx::query_as("SELECT key_hash, prefix FROM agent_keys")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, Sha256::digest(key.as_bytes()).to_vec());
    assert!(!key.starts_with(&stored[0].1[..]) || stored[0].1.len() == 12);
    // The key appears nowhere in the database in clear.
    let (dump,): (String,) = sqlx::query_as(
        "SELECT coalesce(string_agg(t::text, ''), '') FROM (SELECT * FROM agents) t",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!dump.contains(key));

    let (s, me) = app.get("/v1/agents/me", Some(key)).await;
    assert_eq!(s, 200);
    assert_eq!(me["handle"], "alice");
    let (s, p) = app.get("/v1/agents/alice", None).await;
    assert_eq!((s, p["display_name"].as_str()), (200, Some("Alice")));
    assert_eq!(app.get("/v1/agents/nobody", None).await.0, 404);
}

#[tokio::test]
async fn bad_credentials_and_bad_inputs_get_stable_4xx_codes() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    for k in [
        None,
        Some("nope"),
        Some("sk_pact_00"),
        Some(&*format!("sk_pact_{}", "0".repeat(64))),
    ] {
        let (s, v) = app.get("/v1/agents/me", k).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (401, Some("unauthorized")),
            "{k:?}"
        );
    }
    let cases = [
        (
            json!({ "handle": "alice", "display_name": "A" }),
            409,
            "handle_taken",
        ),
        (
            json!({ "handle": "Al", "display_name": "A" }),
            422,
            "invalid_handle",
        ),
        (
            json!({ "handle": "bob", "display_name": "" }),
            422,
            "invalid_field",
        ),
        (
            json!({ "handle": "bob", "display_name": "B", "extra": 1 }),
            422,
            "invalid_body",
        ),
        (
            json!({ "handle": 5, "display_name": "B" }),
            422,
            "invalid_body",
        ),
        (
            json!({ "handle": "bob", "display_name": "B", "webhook_url": "ftp://x" }),
            422,
            "invalid_webhook_url",
        ),
    ];
    for (body, status, code) in cases {
        let (s, v) = app.post("/v1/agents/register", None, body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body}");
    }
    // Malformed JSON, missing content type, oversized body, unknown route, wrong method.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/agents/register", app.base);
    let r = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["code"], "invalid_body");
    let r = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let big = format!(
        "{{\"handle\":\"bob\",\"display_name\":\"{}\"}}",
        "x".repeat(100_000)
    );
    let r = http
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v["code"], "payload_too_large");
    let (s, v) = app.get("/v1/nope", None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (s, v) = app
        .call("PUT", "/v1/agents/me", Some(&key), None, None)
        .await;
    assert_eq!((s, v["code"].as_str()), (405, Some("method_not_allowed")));
    let (s, v) = app
        .call("DELETE", "/v1/agents/me/keys/abc", Some(&key), None, None)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_path")));
}

#[tokio::test]
async fn keys_rotate_and_revoke() {
    let app = App::spawn().await;
    let k1 = app.register("alice").await;
    let (s, v) = app.post("/v1/agents/me/keys", Some(&k1), json!({})).await;
    assert_eq!(s, 201);
    let k2 = v["api_key"].as_str().unwrap().to_string();
    let k2_id = v["key_id"].as_i64().unwrap();
    let (s, v) = app
        .post("/v1/agents/me/keys/rotate", Some(&k1), json!({}))
        .await;
    assert_eq!(s, 201);
    let k3 = v["api_key"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/v1/agents/me", Some(&k1)).await.0,
        401,
        "rotated key still works"
    );
    assert_eq!(app.get("/v1/agents/me", Some(&k2)).await.0, 200);
    assert_eq!(app.get("/v1/agents/me", Some(&k3)).await.0, 200);
    let (_, keys) = app.get("/v1/agents/me/keys", Some(&k3)).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3);
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v1/agents/me/keys/{k2_id}"),
            Some(&k3),
            None,
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/v1/agents/me", Some(&k2)).await.0, 401);
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v1/agents/me/keys/{k2_id}"),
            Some(&k3),
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
    // Another agent cannot revoke my key.
    let other = app.register("mallory").await;
    let (_, keys) = app.get("/v1/agents/me/keys", Some(&k3)).await;
    let k3_id = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == true)
        .unwrap()["key_id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v1/agents/me/keys/{k3_id}"),
            Some(&other),
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(app.get("/v1/agents/me", Some(&k3)).await.0, 200);
}

/// A registration of `handle` is refused as over the rate.
async fn registration_refused(app: &App, handle: &str) {
    let (s, v) = app
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": handle, "display_name": "x" }),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (429, Some("rate_limited")),
        "{handle}"
    );
}

#[tokio::test]
async fn registration_is_rate_limited_per_ip_and_requests_per_key() {
    let app = App::spawn_with(pact_api::Settings {
        register_per_ip_per_hour: 2,
        requests_per_key_per_minute: 3,
        ..settings()
    })
    .await;
    let key = app.register("ab1").await;
    app.register("ab2").await;
    registration_refused(&app, "ab3").await;
    app.clock.advance(3600);
    app.register("ab3").await;

    for _ in 0..3 {
        assert_eq!(app.get("/v1/agents/me", Some(&key)).await.0, 200);
    }
    assert_eq!(app.get("/v1/agents/me", Some(&key)).await.0, 429);
    app.clock.advance(60);
    assert_eq!(app.get("/v1/agents/me", Some(&key)).await.0, 200);
}

/// Two replicas over one database count against the same windows (the counters are rows in
/// PostgreSQL), and the refusal says when the window ends.
#[tokio::test]
async fn rate_limits_are_shared_by_replicas_and_say_when_to_retry() {
    let limited = || pact_api::Settings {
        register_per_ip_per_hour: 3,
        requests_per_key_per_minute: 3,
        ..settings()
    };
    let a = App::spawn_with(limited()).await;
    let b = App::start(a.db.clone(), a.clock.clone(), limited()).await;
    let key = a.register("rep1").await;
    b.register("rep2").await;
    a.register("rep3").await;
    registration_refused(&b, "rep4").await;
    for app in [&a, &b, &a] {
        assert_eq!(app.get("/v1/agents/me", Some(&key)).await.0, 200);
    }
    a.clock.advance(20);
    for app in [&a, &b] {
        let r = app
            .http
            .get(format!("{}/v1/agents/me", app.base))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers()["retry-after"], "40");
    }
    a.clock.advance(40);
    assert_eq!(b.get("/v1/agents/me", Some(&key)).await.0, 200);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response_and_refuses_another_body() {
    let app = App::spawn().await;
    let body = json!({ "handle": "alice", "display_name": "Alice" });
    let (s1, v1) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(body.clone()),
            Some("reg-1"),
        )
        .await;
    assert_eq!(s1, 201);
    let (s2, v2) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(body.clone()),
            Some("reg-1"),
        )
        .await;
    assert_eq!(s2, 201, "{v2}");
    assert_eq!(v2["agent"], v1["agent"]);
    assert!(
        v2["api_key"].is_null(),
        "a replay must not carry the secret: {v2}"
    );
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM agents")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (s, v) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(json!({ "handle": "bob", "display_name": "B" })),
            Some("reg-1"),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (secrets,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM idempotency_keys WHERE convert_from(response_body, 'UTF8') LIKE '%sk_pact_%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(secrets, 0, "a stored response holds an API key");

    // Authenticated writes: one listing for two identical requests.
    let key = v1["api_key"].as_str().unwrap();
    let lb = json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "10" });
    let (a, la) = app
        .call(
            "POST",
            "/v1/listings",
            Some(key),
            Some(lb.clone()),
            Some("l-1"),
        )
        .await;
    let (b, lb2) = app
        .call(
            "POST",
            "/v1/listings",
            Some(key),
            Some(lb.clone()),
            Some("l-1"),
        )
        .await;
    assert_eq!((a, b), (201, 201));
    assert_eq!(la, lb2);
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM listings")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // A 4xx outcome is replayed too (not re-evaluated).
    let bad = json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "0" });
    let (s, _) = app
        .call(
            "POST",
            "/v1/listings",
            Some(key),
            Some(bad.clone()),
            Some("l-2"),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .call("POST", "/v1/listings", Some(key), Some(bad), Some("l-2"))
        .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn an_unfinished_first_request_blocks_its_key_for_a_minute_then_is_taken_over() {
    let app = App::spawn().await;
    let body = json!({ "handle": "alice", "display_name": "Alice" });
    let bytes = serde_json::to_vec(&body).unwrap();
    let mut h = Sha256::new();
    h.update(b"POST /v1/agents/register\n");
    h.update(&bytes);
    sqlx::query("INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ('ip:127.0.0.1', 'stuck', $1, $2)")
        .bind(h.finalize().to_vec())
        .bind(T0)
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, v) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(body.clone()),
            Some("stuck"),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("idempotency_in_progress"))
    );
    app.clock.advance(61);
    let (s, v) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(body.clone()),
            Some("stuck"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .call(
            "POST",
            "/v1/agents/register",
            None,
            Some(body),
            Some("stuck"),
        )
        .await;
    assert_eq!((s, v["api_key"].clone()), (201, serde_json::Value::Null));
}

#[tokio::test]
async fn nul_bytes_and_odd_inputs_never_reach_postgres_as_500s() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    for path in [
        "/v1/listings?owner=a%00b",
        "/v1/listings?q=%00",
        "/v1/listings?category=%00",
        "/v1/orders?party=a%00b",
        "/v1/agents/a%00b",
        "/v1/listings?cursor=5b2231227d",
        "/v1/orders?cursor=5b312c2230783132225d",
    ] {
        let (s, v) = app.get(path, None).await;
        assert!((400..500).contains(&s), "{path}: {s} {v}");
    }
    let (s, _) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&key),
            json!({ "nonce": "a\u{0}b", "signature": format!("0x{}", "11".repeat(65)) }),
        )
        .await;
    assert!((400..500).contains(&s));
    let (s, _) = app
        .post("/v1/orders/0x0000000000000000000000000000000000000000000000000000000000000000/messages", Some(&key), json!({ "body": "a\u{0}b" }))
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .patch(
            "/v1/agents/me",
            Some(&key),
            json!({ "display_name": "x\u{0}" }),
        )
        .await;
    assert_eq!(s, 422);
}

/// RFC 7235: the auth scheme name is case-insensitive; a wrong scheme is a 401 like no key.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    for (scheme, want) in [
        ("Bearer", 200),
        ("bearer", 200),
        ("BEARER", 200),
        ("Basic", 401),
    ] {
        let r = app
            .http
            .get(format!("{}/v1/agents/me", app.base))
            .header("authorization", format!("{scheme} {key}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{scheme}");
        let v: serde_json::Value = r.json().await.unwrap();
        if want == 200 {
            assert_eq!(v["handle"], "alice");
        } else {
            assert_eq!(v["code"], "unauthorized", "{v}");
        }
    }
}

/// Client errors are logged below ERROR (ERROR is for server faults): a run of 4xx answers
/// (unauthenticated, not found, validation, conflict) writes no ERROR line.
#[tokio::test]
async fn client_errors_are_not_logged_at_error() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    // nextest runs each test in its own process: this subscriber sees only this test's server.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let (s, _) = app.get("/v1/agents/me", None).await;
    assert_eq!(s, 401);
    let (s, _) = app.get("/v1/listings/424242", None).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post("/v1/listings", Some(&key), json!({ "kind": "nope" }))
        .await;
    assert!((400..500).contains(&s));
    let (s, _) = app
        .post("/v1/listings/424242/negotiations", Some(&key), json!({}))
        .await;
    assert_eq!(s, 404);
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains(" INFO "),
        "the subscriber captured nothing:\n{log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "4xx logged at ERROR:\n{}",
        errors.join("\n")
    );
}

/// Authentication comes before idempotency: invalid or missing credentials get the 401 and store
/// nothing; keys are the agent's (a second key of the same agent replays); a 4xx is not stored,
/// so the corrected request may reuse its key.
#[tokio::test]
async fn idempotency_is_authenticated_scoped_to_the_agent_and_stores_only_outcomes() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let listing = json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "10" });
    let junk = format!("sk_pact_{}", "0".repeat(64));
    for bad in ["junk", junk.as_str()] {
        let (s, v) = app
            .call(
                "POST",
                "/v1/listings",
                Some(bad),
                Some(listing.clone()),
                Some("k-1"),
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")), "{v}");
    }
    assert_eq!(rows().await, 0, "an unauthenticated request stored a row");
    // A 422 (invalid body) is not stored: the corrected request reuses the key.
    let (s, _) = app
        .call(
            "POST",
            "/v1/listings",
            Some(&key),
            Some(json!({ "kind": "nope" })),
            Some("k-1"),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(rows().await, 0, "a 4xx was stored");
    let (s, first) = app
        .call(
            "POST",
            "/v1/listings",
            Some(&key),
            Some(listing.clone()),
            Some("k-1"),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    // Without credentials, the same key on an authenticated operation is a 401, not a 422.
    let (s, v) = app
        .call(
            "POST",
            "/v1/listings",
            None,
            Some(json!({ "other": 1 })),
            Some("k-1"),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")), "{v}");
    // A second key of the same agent replays the first response: one listing.
    let (s, k2) = app
        .post(
            "/v1/agents/me/keys",
            Some(&key),
            json!({ "label": "second" }),
        )
        .await;
    assert_eq!(s, 201, "{k2}");
    let second = k2["api_key"].as_str().unwrap();
    let (s, again) = app
        .call(
            "POST",
            "/v1/listings",
            Some(second),
            Some(listing),
            Some("k-1"),
        )
        .await;
    assert_eq!((s, &again), (201, &first));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM listings")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// The same PATCH sent twice with one Idempotency-Key replays the stored response byte for byte;
/// twenty identical concurrent POSTs with one key create exactly one listing.
#[tokio::test]
async fn patch_replays_and_concurrent_duplicates_create_one() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let id = app.listing(&key, "offer", "Audit", "25").await;
    let send = |method: &'static str, path: String, body: serde_json::Value, idem: &'static str| {
        let r = app
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", app.base),
            )
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", idem)
            .body(serde_json::to_vec(&body).unwrap());
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (status, replayed, r.bytes().await.unwrap())
        }
    };
    let body = json!({ "title": "Audit, revised" });
    let first = send("PATCH", format!("/v1/listings/{id}"), body.clone(), "p-1").await;
    app.clock.advance(5);
    let again = send("PATCH", format!("/v1/listings/{id}"), body, "p-1").await;
    assert_eq!(first.0, 200);
    assert_eq!((again.0, again.1), (200, true));
    assert_eq!(first.2, again.2, "a replay is byte-identical");

    let listing = json!({ "kind": "offer", "title": "Twenty", "description": "d", "category": "dev", "price": "10" });
    let all = futures::future::join_all(
        (0..20).map(|_| send("POST", "/v1/listings".into(), listing.clone(), "c-1")),
    )
    .await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM listings WHERE title = 'Twenty'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "{:?}", all.iter().map(|a| a.0).collect::<Vec<_>>());
    assert!(
        all.iter().all(|a| a.0 == 201 || a.0 == 409),
        "{:?}",
        all.iter().map(|a| a.0).collect::<Vec<_>>()
    );
}
