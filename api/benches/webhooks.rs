//! Webhook delivery bench: the latency of deliveries to healthy endpoints (enqueue committed →
//! request at the receiver), once with only healthy endpoints in the queue and once with one
//! stalled endpoint in the same queue, whose requests never answer (each runs into the webhook
//! timeout) and which keeps a backlog of due deliveries throughout. Prints p50/p99 of both runs and
//! their ratio.
//!
//! The real worker (`pact_api::webhooks::run_worker`) runs in this process over a fresh database;
//! deliveries are enqueued with `pact_api::webhooks::enqueue` and the worker woken, as the API's
//! handlers do; the receivers are axum servers on loopback.
//!
//! `cargo bench -p pact-api --bench webhooks`. `PACT_BENCH_DELIVERIES` healthy deliveries per run
//! (default 500), one every `PACT_BENCH_INTERVAL_MS` (default 10) over `PACT_BENCH_ENDPOINTS`
//! healthy endpoints (default 8).

use axum::{Router, body::Bytes, extract::State, routing::post};
use pact_api::{AppState, Settings, SystemClock, webhooks};
use pact_testkit::TestDb;
use pact_testkit::bench::{env_u64, loadavg, percentile};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Arrival time of each healthy delivery, by its `data.seq`.
type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

/// A receiver on loopback: records arrivals and answers 200, or never answers (`stall`).
async fn receiver(arrivals: Arrivals, stall: bool) -> eyre::Result<String> {
    let app = Router::new()
        .route(
            "/hook",
            post(move |State(a): State<Arrivals>, body: Bytes| async move {
                let now = Instant::now();
                if stall {
                    std::future::pending::<()>().await;
                }
                if let Some(seq) = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["data"]["seq"].as_u64())
                {
                    a.lock().expect("not poisoned").insert(seq, now);
                }
                "ok"
            }),
        )
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

struct Run {
    latencies_ms: Vec<f64>,
    stalled_enqueued: u64,
    stalled_timeouts: i64,
}

/// One run: `deliveries` healthy deliveries over `endpoints` endpoints, one every `interval`,
/// with or without a stalled endpoint (20 deliveries queued at the start, one more every fifth
/// interval).
async fn run(
    stalled: bool,
    deliveries: u64,
    endpoints: u64,
    interval: Duration,
    timeout: Duration,
) -> eyre::Result<Run> {
    let db = TestDb::new().await?;
    let pool = db.pool().await?;
    pact_api::migrate(&pool).await?;
    let st = AppState::new(
        pool.clone(),
        Arc::new(SystemClock),
        Settings {
            allow_private_webhooks: true,
            webhook_timeout: timeout,
            webhook_lease: timeout + Duration::from_secs(5),
            ..Settings::default()
        },
    )?;
    let arrivals: Arrivals = Arc::default();
    let mut agents = vec![];
    for k in 0..=endpoints {
        let stall = k == endpoints;
        let url = receiver(arrivals.clone(), stall).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (handle, display_name, webhook_url, webhook_secret, created_at)
             VALUES ($1, $1, $2, 'whsec_bench', 0) RETURNING id",
        )
        .bind(format!("{}{k}", if stall { "stalled" } else { "healthy" }))
        .bind(url)
        .fetch_one(&pool)
        .await?;
        agents.push(id);
    }
    let stalled_agent = agents.pop().expect("the stalled agent");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(webhooks::run_worker(st.clone(), stopped));

    let enqueue = |agent: i64, key: String, data: Value| {
        let (pool, st) = (pool.clone(), st.clone());
        async move {
            let mut conn = pool.acquire().await?;
            webhooks::enqueue(&mut conn, agent, "message.created", &key, data, st.now()).await?;
            st.wake.notify_one();
            eyre::Ok(Instant::now())
        }
    };
    let mut stalled_enqueued = 0;
    if stalled {
        for i in 0..20 {
            enqueue(stalled_agent, format!("stalled:{i}"), json!({})).await?;
            stalled_enqueued += 1;
        }
        // Let its first requests go out and hang before the measured deliveries start.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut sent = HashMap::new();
    let mut tick = tokio::time::interval(interval);
    for seq in 0..deliveries {
        tick.tick().await;
        let agent = agents[(seq % endpoints) as usize];
        let at = enqueue(agent, format!("healthy:{seq}"), json!({ "seq": seq })).await?;
        sent.insert(seq, at);
        if stalled && seq % 5 == 0 {
            enqueue(stalled_agent, format!("stalled:more:{seq}"), json!({})).await?;
            stalled_enqueued += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().expect("not poisoned").len() < deliveries as usize {
        eyre::ensure!(
            Instant::now() < deadline,
            "healthy deliveries did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = arrivals.lock().expect("not poisoned").clone();
    let mut latencies_ms: Vec<f64> = sent
        .iter()
        .map(|(seq, at)| got[seq].saturating_duration_since(*at).as_secs_f64() * 1000.0)
        .collect();
    latencies_ms.sort_by(f64::total_cmp);
    let stalled_timeouts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_attempts t JOIN webhook_deliveries d ON d.id = t.delivery_id
         WHERE d.agent_id = $1 AND t.status_code IS NULL",
    )
    .bind(stalled_agent)
    .fetch_one(&pool)
    .await?;
    let _ = stop.send(true);
    worker.await?;
    Ok(Run {
        latencies_ms,
        stalled_enqueued,
        stalled_timeouts,
    })
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let deliveries = env_u64("PACT_BENCH_DELIVERIES", 500);
    let interval = Duration::from_millis(env_u64("PACT_BENCH_INTERVAL_MS", 10));
    let endpoints = env_u64("PACT_BENCH_ENDPOINTS", 8);
    let timeout = Duration::from_secs(2);
    println!("load average before: {}", loadavg());
    let alone = run(false, deliveries, endpoints, interval, timeout).await?;
    let with = run(true, deliveries, endpoints, interval, timeout).await?;
    let (a50, a99) = (
        percentile(&alone.latencies_ms, 0.5),
        percentile(&alone.latencies_ms, 0.99),
    );
    let (w50, w99) = (
        percentile(&with.latencies_ms, 0.5),
        percentile(&with.latencies_ms, 0.99),
    );
    println!(
        "{deliveries} healthy deliveries over {endpoints} endpoints, one every {} ms, \
         {} s webhook timeout",
        interval.as_millis(),
        timeout.as_secs()
    );
    println!("  healthy endpoints alone:        p50 {a50:>7.2} ms  p99 {a99:>7.2} ms");
    println!(
        "  with one stalled endpoint:      p50 {w50:>7.2} ms  p99 {w99:>7.2} ms  \
         ({} deliveries queued to it, {} attempts timed out during the run)",
        with.stalled_enqueued, with.stalled_timeouts
    );
    println!(
        "  ratio with/without:             p50 {:.2}x     p99 {:.2}x",
        w50 / a50,
        w99 / a99
    );
    println!("load average after: {}", loadavg());
    Ok(())
}
