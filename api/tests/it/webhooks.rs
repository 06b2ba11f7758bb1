//! Webhooks: signatures checked by the receiver's own HMAC code, the retry schedule under a
//! manual clock, dead letters, manual redelivery, restarts, chain-driven and deadline events; a
//! stalled receiver isolated from the others, a worker killed holding a lease, two workers on
//! one outbox.

use crate::common::*;
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use hmac::{Hmac, Mac};
use pact_api::Clock;
use serde_json::{Value, json};
use sha2::Sha256;
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A webhook receiver: records verified deliveries and answers with a settable status, after a
/// settable delay, or never (stalled: the request hangs until the sender gives up).
#[derive(Clone)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    got: Arc<Mutex<Vec<(String, Value)>>>,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicU16>,
    /// `X-Pact-Delivery` and arrival time of every request, answered or not.
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
    stall: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    url: String,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    r.arrivals
        .lock()
        .unwrap()
        .push((h("x-pact-delivery"), Instant::now()));
    r.hits.fetch_add(1, Ordering::SeqCst);
    if r.stall.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
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
    let delay = r.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
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
        arrivals: Arc::default(),
        stall: Arc::default(),
        delay_ms: Arc::default(),
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
    fn hits(&self) -> u16 {
        self.hits.load(Ordering::SeqCst)
    }
    /// Arrival times of the requests for delivery `id`.
    fn arrivals_of(&self, id: &str) -> Vec<Instant> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, _)| d == id)
            .map(|(_, t)| *t)
            .collect()
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

/// An agent with a webhook at `rx` (its secret given to the receiver); returns the agent's id.
async fn hooked_agent(app: &App, handle: &str, rx: &Receiver) -> i64 {
    let (_, secret) = app.register_with(handle, Some(&rx.url)).await;
    *rx.secret.lock().unwrap() = secret.unwrap();
    sqlx::query_scalar("SELECT id FROM agents WHERE handle = $1")
        .bind(handle)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Enqueues `n` `message.created` deliveries for `agent` (dedup keys `<tag>:<i>`) in one
/// transaction, as a handler does; returns their delivery ids.
async fn enqueue_n(app: &App, agent: i64, tag: &str, n: usize) -> Vec<String> {
    let mut tx = app.pool.begin().await.unwrap();
    for i in 0..n {
        pact_api::webhooks::enqueue(
            &mut tx,
            agent,
            "message.created",
            &format!("{tag}:{i}"),
            json!({ "tag": tag, "n": i }),
            app.clock.now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE agent_id = $1 AND dedup_key LIKE $2 || ':%' ORDER BY id",
    )
    .bind(agent)
    .bind(tag)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), n);
    ids.iter().map(|i| format!("dlv_{i}")).collect()
}

/// (status, attempts, claims) of a delivery and its attempt log (attempt, status code, error).
async fn delivery_row(
    app: &App,
    id: &str,
) -> ((String, i32, i64), Vec<(i32, Option<i32>, Option<String>)>) {
    let id: i64 = id.trim_start_matches("dlv_").parse().unwrap();
    let row =
        sqlx::query_as("SELECT status, attempts, claims FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let log = sqlx::query_as(
        "SELECT attempt, status_code, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    (row, log)
}

#[tokio::test]
async fn a_stalled_endpoint_does_not_delay_another_agents_deliveries() {
    let timeout = Duration::from_secs(5);
    let app = App::spawn_with(pact_api::Settings {
        webhook_timeout: timeout,
        webhook_lease: timeout + Duration::from_secs(3),
        webhook_endpoint_concurrency: 2,
        ..settings()
    })
    .await;
    let (stalled, healthy) = (receiver().await, receiver().await);
    stalled.stall.store(true, Ordering::SeqCst);
    let s = hooked_agent(&app, "stalled", &stalled).await;
    let h = hooked_agent(&app, "healthy", &healthy).await;

    // Ten deliveries for the stalled receiver, due before anything else: two are sent (its
    // limit) and hang; the other eight wait behind them, not in front of anyone else.
    let queued = enqueue_n(&app, s, "stalled", 10).await;
    stalled.wait_hits(2).await;
    let stall_began = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        stalled.hits(),
        2,
        "more than the per-endpoint limit in flight"
    );

    // The healthy agent's deliveries, one at a time, each arrive within the bound while both of
    // the stalled requests still hang (the old batch waited for its slowest request: 5 s).
    let bound = Duration::from_millis(1500);
    for k in 0..5 {
        let id = enqueue_n(&app, h, &format!("healthy{k}"), 1)
            .await
            .remove(0);
        let enqueued = Instant::now();
        let arrived = eventually("the healthy delivery", || async {
            healthy.arrivals_of(&id).first().copied()
        })
        .await;
        let latency = arrived.saturating_duration_since(enqueued);
        assert!(latency < bound, "delivery {k} took {latency:?}");
    }
    assert!(
        stall_began.elapsed() < timeout,
        "the healthy deliveries were measured while the stalled requests hung"
    );
    assert_eq!(healthy.wait_for(5).await.len(), 5);

    // At the timeout the two hanging attempts are recorded as failures (no status) and the
    // next two of the stalled queue go out.
    stalled.wait_hits(4).await;
    let first_two: Vec<&String> = queued
        .iter()
        .filter(|id| !stalled.arrivals_of(id).is_empty())
        .take(2)
        .collect();
    for id in first_two {
        let ((status, attempts, claims), log) = eventually("the timeout recorded", || async {
            let r = delivery_row(&app, id).await;
            (r.0.1 == 1).then_some(r)
        })
        .await;
        assert_eq!(
            (status.as_str(), attempts, claims),
            ("pending", 1, 1),
            "{id}"
        );
        assert_eq!(log.len(), 1, "{id}: {log:?}");
        assert_eq!(log[0].1, None, "{id}: no answer, no status");
        assert!(log[0].2.is_some(), "{id}: the error is recorded");
    }
}

#[tokio::test]
async fn a_worker_killed_after_claiming_is_redelivered_by_another_after_the_lease() {
    let lease = Duration::from_secs(3);
    let short = pact_api::Settings {
        webhook_timeout: Duration::from_secs(2),
        webhook_lease: lease,
        ..settings()
    };
    let mut first = App::spawn_with(short.clone()).await;
    let rx = receiver().await;
    rx.stall.store(true, Ordering::SeqCst);
    let agent = hooked_agent(&first, "alice", &rx).await;
    let id = enqueue_n(&first, agent, "lease", 1).await.remove(0);

    // The first worker claims and sends; the receiver holds the request; the worker dies.
    rx.wait_hits(1).await;
    first.kill().await;
    let sent_at = rx.arrivals_of(&id)[0];
    rx.stall.store(false, Ordering::SeqCst);
    let leased: bool = sqlx::query_scalar(
        "SELECT claimed_until > clock_timestamp() FROM webhook_deliveries WHERE id = $1",
    )
    .bind(id.trim_start_matches("dlv_").parse::<i64>().unwrap())
    .fetch_one(&first.pool)
    .await
    .unwrap();
    assert!(leased, "the dead worker's claim is still leased");
    assert_eq!(
        delivery_row(&first, &id).await,
        (("pending".into(), 0, 1), vec![]),
        "nothing recorded for the attempt in flight"
    );

    // Another worker on the same outbox leaves it alone until the lease expires, then sends it.
    let second = App::start(first.db.clone(), first.clock.clone(), short).await;
    let again = eventually("the redelivery", || async {
        rx.arrivals_of(&id).get(1).copied()
    })
    .await;
    let gap = again.duration_since(sent_at);
    assert!(
        gap >= lease - Duration::from_millis(300),
        "sent again {gap:?} after the first send, inside the {lease:?} lease"
    );
    assert!(
        gap < lease + Duration::from_secs(3),
        "sent again only after {gap:?}"
    );
    let (row, log) = eventually("the redelivery recorded", || async {
        let r = delivery_row(&second, &id).await;
        (r.0.0 == "delivered").then_some(r)
    })
    .await;
    // One attempt, recorded once: the dead worker's attempt left no outcome, the second
    // claim's is the attempt's only record.
    assert_eq!(row, ("delivered".into(), 1, 2));
    assert_eq!(log, [(1, Some(200), None)]);
    let got = rx.events();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], id.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.hits(), 2);
}

#[tokio::test]
async fn two_concurrent_workers_deliver_each_due_row_once() {
    let one = App::spawn().await;
    let two = App::start(one.db.clone(), one.clock.clone(), settings()).await;
    let mut receivers = vec![];
    let mut ids = vec![];
    for k in 0..4 {
        let rx = receiver().await;
        rx.delay_ms.store(15, Ordering::SeqCst);
        let agent = hooked_agent(&one, &format!("agent{k}"), &rx).await;
        ids.push(enqueue_n(&one, agent, "burst", 30).await);
        receivers.push(rx);
    }
    let total: usize = ids.iter().map(Vec::len).sum();
    eventually("every delivery delivered", || async {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'",
        )
        .fetch_one(&one.pool)
        .await
        .unwrap();
        (delivered as usize == total).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (rx, want) in receivers.iter().zip(&ids) {
        let mut got: Vec<String> = rx
            .arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got, want, "each of its deliveries exactly once");
    }
    let (attempts, claims, log): (i64, i64, i64) = sqlx::query_as(
        "SELECT sum(attempts)::BIGINT, sum(claims)::BIGINT,
                (SELECT count(*) FROM webhook_attempts WHERE attempt = 1 AND status_code = 200)
         FROM webhook_deliveries",
    )
    .fetch_one(&two.pool)
    .await
    .unwrap();
    assert_eq!(
        (attempts, claims, log),
        (total as i64, total as i64, total as i64),
        "one claim, one attempt and one record per row"
    );
}

#[tokio::test]
async fn the_outcome_of_a_superseded_claim_is_not_recorded() {
    let app = App::spawn().await;
    let rx = receiver().await;
    rx.delay_ms.store(1000, Ordering::SeqCst);
    let agent = hooked_agent(&app, "alice", &rx).await;
    let id = enqueue_n(&app, agent, "fence", 1).await.remove(0);
    let row_id: i64 = id.trim_start_matches("dlv_").parse().unwrap();

    // While the worker's request waits for its answer, the claim is taken over, as another
    // worker does once a lease expired: a new token and a lease of three seconds.
    rx.wait_hits(1).await;
    let taken = sqlx::query(
        "UPDATE webhook_deliveries SET claims = claims + 1,
             claimed_until = clock_timestamp() + interval '3 seconds'
         WHERE id = $1 AND claims = 1",
    )
    .bind(row_id)
    .execute(&app.pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(taken, 1);
    // The receiver answers 200; the worker's outcome is not recorded under the old claim.
    rx.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        delivery_row(&app, &id).await,
        (("pending".into(), 0, 2), vec![]),
        "a superseded claim recorded its outcome"
    );
    // After the taken-over lease expires the row is claimed again, sent and recorded once.
    rx.delay_ms.store(0, Ordering::SeqCst);
    let (row, log) = eventually("the delivery recorded", || async {
        let r = delivery_row(&app, &id).await;
        (r.0.0 == "delivered").then_some(r)
    })
    .await;
    assert_eq!(row, ("delivered".into(), 1, 3));
    assert_eq!(log, [(1, Some(200), None)]);
    assert_eq!(rx.hits(), 2);
}
