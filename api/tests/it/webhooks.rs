//! Webhooks: signatures checked by the receiver's own HMAC code, the retry schedule under a
//! manual clock, dead letters, manual redelivery, restarts, chain-driven and deadline events.

use crate::common::*;
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

/// A webhook receiver: records verified deliveries and answers with a settable status.
#[derive(Clone)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    got: Arc<Mutex<Vec<(String, Value)>>>,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicU16>,
    url: String,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    r.hits.fetch_add(1, Ordering::SeqCst);
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let ts = h("x-pact-timestamp");
    let sig = h("x-pact-signature");
    let hex_sig = sig.strip_prefix("sha256=").expect("sha256= prefix");
    let mut mac = Hmac::<Sha256>::new_from_slice(r.secret.lock().unwrap().as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&body);
    mac.verify_slice(&hex::decode(hex_sig).unwrap())
        .expect("signature verifies");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["id"].as_str().unwrap(), h("x-pact-delivery"));
    assert_eq!(v["event"].as_str().unwrap(), h("x-pact-event"));
    let status = r.status.load(Ordering::SeqCst);
    if status == 200 {
        r.got.lock().unwrap().push((ts, v));
    }
    axum::http::StatusCode::from_u16(status).unwrap()
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = Receiver {
        secret: Arc::default(),
        got: Arc::default(),
        status: Arc::new(AtomicU16::new(200)),
        hits: Arc::default(),
        url: format!("http://{}/hook", listener.local_addr().unwrap()),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    r
}

impl Receiver {
    fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        eventually(&format!("{n} webhook(s)"), || async {
            let e = self.events();
            (e.len() >= n).then_some(e)
        })
        .await
    }
    async fn wait_hits(&self, n: u16) {
        eventually(&format!("{n} hit(s)"), || async {
            (self.hits.load(Ordering::SeqCst) >= n).then_some(())
        })
        .await
    }
}

/// alice (with the webhook) offers; bob opens a negotiation; returns (bob's key, order id).
async fn thread_with_hook(app: &App, rx: &Receiver) -> (String, String, String) {
    let (alice, secret) = app.register_with("alice", Some(&rx.url)).await;
    *rx.secret.lock().unwrap() = secret.unwrap();
    let bob = app.register("bob").await;
    app.bind_wallet(&bob).await;
    let listing = app.listing(&alice, "offer", "Hooked", "5").await;
    let (_, o) = app
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    (alice, bob, o["order_id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn messages_are_delivered_signed() {
    let rx = receiver().await;
    let app = App::spawn().await;
    let (_, bob, id) = thread_with_hook(&app, &rx).await;
    let (s, _) = app
        .post(
            &format!("/v1/orders/{id}/messages"),
            Some(&bob),
            json!({ "body": "hello" }),
        )
        .await;
    assert_eq!(s, 201);
    let got = rx.wait_for(2).await;
    assert_eq!(got[0]["event"], "order.updated");
    assert_eq!(got[0]["data"]["state"], "NEGOTIATING");
    assert_eq!(got[1]["event"], "message.created");
    assert_eq!(got[1]["data"]["body"], "hello");
    assert_eq!(got[1]["data"]["author"], "bob");
    assert_eq!(rx.got.lock().unwrap()[1].0, T0.to_string());
}

#[tokio::test]
async fn a_tampered_signature_fails_the_receivers_check() {
    // The receiver's check must be able to fail: sign with another secret.
    let body = br#"{"id":"dlv_1"}"#;
    let good = pact_api::webhooks::sign("whsec_a", T0, body);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_b").unwrap();
    mac.update(format!("{T0}.").as_bytes());
    mac.update(body);
    assert!(mac.verify_slice(&hex::decode(&good[7..]).unwrap()).is_err());
    let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_a").unwrap();
    mac.update(format!("{T0}.").as_bytes());
    mac.update(body);
    assert!(mac.verify_slice(&hex::decode(&good[7..]).unwrap()).is_ok());
}

#[tokio::test]
async fn failures_retry_on_schedule_then_dead_letter_and_redeliver_manually() {
    let rx = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let app = App::spawn().await;
    let (alice, _, _) = thread_with_hook(&app, &rx).await;
    rx.wait_hits(1).await;
    let mut expected_hits = 1;
    let mut at = T0;
    for delay in [60, 300, 1800, 7200, 43200] {
        // One second early: nothing.
        app.clock.set(at + delay - 1);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            rx.hits.load(Ordering::SeqCst),
            expected_hits,
            "retried before {delay} s"
        );
        app.clock.set(at + delay);
        expected_hits += 1;
        rx.wait_hits(expected_hits).await;
        at += delay;
    }
    // Dead after the sixth attempt: no more retries.
    app.clock.advance(10 * 86400);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rx.hits.load(Ordering::SeqCst), 6);
    let (_, log) = app
        .get("/v1/webhooks/deliveries?status=dead", Some(&alice))
        .await;
    let d = &log["items"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("dead"), Some(6))
    );
    let id = d["id"].as_str().unwrap().to_string();
    let (_, one) = app
        .get(&format!("/v1/webhooks/deliveries/{id}"), Some(&alice))
        .await;
    let times: Vec<i64> = one["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["at"].as_i64().unwrap())
        .collect();
    assert_eq!(
        times,
        [T0, T0 + 60, T0 + 360, T0 + 2160, T0 + 9360, T0 + 52560]
    );
    assert_eq!(one["attempt_log"][0]["status_code"], 500);

    // Manual redelivery once the receiver is fixed.
    rx.status.store(200, Ordering::SeqCst);
    let (s, _) = app
        .post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            Some(&alice),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0]["id"], id);
    // The receiver records before it answers: wait for the worker to commit the outcome.
    let one = eventually("delivery marked delivered", || async {
        let (_, one) = app
            .get(&format!("/v1/webhooks/deliveries/{id}"), Some(&alice))
            .await;
        (one["status"] == "delivered").then_some(one)
    })
    .await;
    assert_eq!(one["attempt_log"].as_array().unwrap().len(), 7);
    // Other agents cannot see or redeliver it.
    let eve = app.register("eve").await;
    assert_eq!(
        app.get(&format!("/v1/webhooks/deliveries/{id}"), Some(&eve))
            .await
            .0,
        404
    );
    assert_eq!(
        app.post(
            &format!("/v1/webhooks/deliveries/{id}/redeliver"),
            Some(&eve),
            json!({})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.get("/v1/webhooks/deliveries/123", Some(&eve)).await.0,
        400
    );
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let rx = receiver().await;
    rx.status.store(503, Ordering::SeqCst);
    let mut app = App::spawn().await;
    let (alice, bob, id) = thread_with_hook(&app, &rx).await;
    rx.wait_hits(1).await;
    app.stop().await;

    // While the API is down: a message lands in the outbox? No — the API is down; but the chain
    // moves: the indexer records the funding and notifies nobody.
    let (_, seller) = (alice.clone(), alloy::primitives::Address::repeat_byte(9));
    chain_order(
        &app.pool,
        &id,
        alloy::primitives::Address::repeat_byte(8),
        seller,
        "5000000",
        "ESCROWED",
        3,
        None,
    )
    .await;
    chain_event(&app.pool, &id, 3, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 3).await;

    rx.status.store(200, Ordering::SeqCst);
    let clock = app.clock.clone();
    clock.advance(60);
    let app2 = App::start(app.db.clone(), clock, settings()).await;
    let got = rx.wait_for(2).await;
    let mut events: Vec<(String, String)> = got
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["data"]["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            ("order.updated".into(), "ESCROWED".into()),
            ("order.updated".into(), "NEGOTIATING".into())
        ]
    );
    // A message after the restart is delivered as well; nothing is delivered twice.
    app2.post(
        &format!("/v1/orders/{id}/messages"),
        Some(&bob),
        json!({ "body": "after" }),
    )
    .await;
    let got = rx.wait_for(3).await;
    let ids: std::collections::HashSet<&str> =
        got.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn deadlines_become_order_deadline_events() {
    let rx = receiver().await;
    let app = App::spawn().await;
    let (secret_key, secret) = app.register_with("seller", Some(&rx.url)).await;
    *rx.secret.lock().unwrap() = secret.unwrap();
    let (_, addr) = app.bind_wallet(&secret_key).await;
    let id = format!("0x{}", "cd".repeat(32));
    chain_order(
        &app.pool,
        &id,
        alloy::primitives::Address::repeat_byte(3),
        addr,
        "1000000",
        "PROOF_SUBMITTED",
        1,
        Some(("START_REVIEW", T0 + 100)),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(rx.events().is_empty());
    app.clock.advance(100);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0]["event"], "order.deadline");
    assert_eq!(got[0]["data"]["next_action"], "START_REVIEW");
    assert_eq!(got[0]["data"]["due_at"], T0 + 100);
    app.clock.advance(100);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rx.events().len(), 1, "deadline announced twice");
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let app = App::spawn_with(pact_api::Settings {
        allow_private_webhooks: false,
        ..settings()
    })
    .await;
    for url in [
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://[::1]/x",
        "http://localhost/x",
        "http://169.254.169.254/latest",
        "http://192.168.1.1/",
    ] {
        let (s, v) = app
            .post(
                "/v1/agents/register",
                None,
                json!({ "handle": "alice", "display_name": "A", "webhook_url": url }),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (422, Some("webhook_target_private")),
            "{url}"
        );
    }
    let key = app.register("alice").await;
    let (s, v) = app
        .patch(
            "/v1/agents/me",
            Some(&key),
            json!({ "webhook_url": "http://127.0.0.1/x" }),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("webhook_target_private"))
    );
    let (s, v) = app
        .patch(
            "/v1/agents/me",
            Some(&key),
            json!({ "webhook_url": "https://hooks.example.com/pact" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    let (s, v) = app
        .patch("/v1/agents/me", Some(&key), json!({ "webhook_url": null }))
        .await;
    assert_eq!((s, v["agent"]["webhook_url"].clone()), (200, Value::Null));
}

#[tokio::test]
async fn a_reorg_notice_rereads_the_replaced_blocks() {
    let rx = receiver().await;
    let app = App::spawn().await;
    let (key, secret) = app.register_with("seller", Some(&rx.url)).await;
    *rx.secret.lock().unwrap() = secret.unwrap();
    let (_, addr) = app.bind_wallet(&key).await;
    let id = format!("0x{}", "ef".repeat(32));
    let buyer = alloy::primitives::Address::repeat_byte(4);
    chain_order(&app.pool, &id, buyer, addr, "1000000", "ESCROWED", 5, None).await;
    chain_event(&app.pool, &id, 5, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 5).await;
    let got = rx.wait_for(1).await;
    assert_eq!(
        (
            got[0]["data"]["block_number"].as_i64(),
            got[0]["data"]["log_index"].as_i64()
        ),
        (Some(5), Some(0))
    );

    // Block 5 is replaced: the funding lands at another log index of the new block 5.
    indexer_rewind(&app.pool, 4).await;
    chain_order(&app.pool, &id, buyer, addr, "1000000", "ESCROWED", 5, None).await;
    chain_event(&app.pool, &id, 5, 1, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 5).await;
    let got = rx.wait_for(2).await;
    assert_eq!(
        (
            got[1]["data"]["block_number"].as_i64(),
            got[1]["data"]["log_index"].as_i64()
        ),
        (Some(5), Some(1))
    );
}
