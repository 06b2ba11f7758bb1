//! API bench: fills a fresh database with `PACT_BENCH_LISTINGS` listings (default 100,000) and
//! `PACT_BENCH_ORDERS` escrow orders (default 1,000,000), runs the real `pact-api` binary on
//! loopback and prints search latency p50/p99 (sequential requests over a mix of queries) and
//! `GET /v1/orders/{id}` requests/s under a concurrent load generator in this process.
//!
//! `cargo bench -p pact-api --bench api`.

use alloy::transports::http::reqwest;
use pact_testkit::bench::{env_u64, loadavg, percentile};
use pact_testkit::{KillOnDrop, TestDb};
use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

const WORDS: &str = "ARRAY['rust','solidity','audit','backend','frontend','design','indexer','escrow',
    'contract','agent','scraper','translation','review','testing','devops','database','api','mobile',
    'security','data','model','writing','video','logo','research','support','bot','wallet','bridge','oracle']";

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let listings = env_u64("PACT_BENCH_LISTINGS", 100_000);
    let orders = env_u64("PACT_BENCH_ORDERS", 1_000_000);
    let db = TestDb::new().await?;
    let pool = db.pool().await?;
    pact_api::migrate(&pool).await?;

    let t = Instant::now();
    sqlx::query(
        "INSERT INTO api_tokens VALUES (31337, '\\x5fbdb2315678afecb367f032d93f642f64180aa3',
                                        '\\xe7f1725e7734ce288f8367e1bb143e90bb3f0512', 6)",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO agents (handle, display_name, created_at)
         SELECT 'agent' || i, 'Agent ' || i, 0 FROM generate_series(1, 1000) i",
    )
    .execute(&pool)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO listings (agent_id, kind, title, description, category, tags, price, chain_id,
                               token, token_decimals, created_at, updated_at)
         SELECT 1 + i % 1000, CASE WHEN i % 3 = 0 THEN 'bounty' ELSE 'offer' END,
                w[1 + i % 30] || ' ' || w[1 + (i / 30) % 30] || ' ' || w[1 + (i * 7) % 29],
                'We do ' || w[1 + (i * 11) % 30] || ' and ' || w[1 + (i * 13) % 30] || ' work, '
                  || w[1 + (i * 17) % 30] || ' included, job ' || i,
                w[1 + (i * 3) % 12], ARRAY[w[1 + i % 30], w[1 + (i * 5) % 30]],
                (1 + (i * 7919) % 100000) / 100.0, 31337,
                '\\x5fbdb2315678afecb367f032d93f642f64180aa3', 6, i, i
         FROM generate_series(1, {listings}) i, (SELECT {WORDS} AS w) words"
    ))
    .execute(&pool)
    .await?;
    println!(
        "{listings} listings inserted in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let states = "ARRAY['ESCROWED','DELIVERING','PROOF_SUBMITTED','REVIEWING','COMPLETED','REFUNDED','DISPUTED','RESOLVED']";
    let chunk = 100_000;
    let mut start = 1;
    while start <= orders {
        let end = (start + chunk - 1).min(orders);
        sqlx::query(&format!(
            "INSERT INTO escrow_orders (chain_id, escrow, order_id, token, token_decimals, buyer, seller,
                amount, state, state_since, deliver_by, terms_hash, fee_bps, review_window, arbiter_window,
                default_seller_bps, next_action, next_action_at, funded_block, funded_tx, updated_block,
                updated_log_index, updated_at)
             SELECT 31337, '\\xe7f1725e7734ce288f8367e1bb143e90bb3f0512', sha256(int8send(i)),
                '\\x5fbdb2315678afecb367f032d93f642f64180aa3', 6,
                substring(sha256(int8send(i % 20000)) from 1 for 20),
                substring(sha256(int8send(20000 + i % 5000)) from 1 for 20),
                (1 + i % 100000) * 10000, (s)[1 + i % 8], i, i + 86400, sha256(int8send(-i)), 100, 3600,
                7200, 5000, NULL, NULL, i / 10, sha256(int8send(i + 1)), i / 10, (i % 10)::int, i
             FROM generate_series({start}, {end}) i, (SELECT {states} AS s) st"
        ))
        .execute(&pool)
        .await?;
        start = end + 1;
    }
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.ok();
    sqlx::query("ANALYZE listings").execute(&pool).await?;
    sqlx::query("ANALYZE escrow_orders").execute(&pool).await?;
    println!(
        "{orders} orders inserted in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    let _api = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pact-api"))
            .args(["--database-url", &db.url, "--listen", &addr.to_string()])
            .env("RUST_LOG", "warn")
            .env("PACT_API_DB_CONNECTIONS", "16")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!("load average before the search run: {}", loadavg());
    // Search: a mix of query shapes, sequential, after a warm-up pass.
    let words = [
        "rust", "solidity", "audit", "backend", "escrow", "agent", "oracle", "wallet", "bridge",
        "video",
    ];
    let mut queries = vec![];
    for (i, w) in words.iter().enumerate() {
        let w2 = words[(i + 3) % words.len()];
        queries.push(format!("q={w}"));
        queries.push(format!("q={w}+{w2}&sort=relevance"));
        queries.push(format!("q={w}&kind=bounty&sort=price_asc"));
        queries.push(format!("category={w}&kind=offer"));
        queries.push(format!("tags={w},{w2}"));
        queries.push(format!(
            "min_price={}&max_price={}&sort=price_asc",
            10 * i,
            10 * i + 50
        ));
        queries.push(format!("q={w}&min_price=100&max_price=400"));
        queries.push("sort=price_desc".to_string());
    }
    let run = |q: String| {
        let http = http.clone();
        let url = format!("{base}/v1/listings?{q}&limit=20");
        async move {
            let t = Instant::now();
            let r = http.get(&url).send().await?;
            let s = r.status();
            r.bytes().await?;
            eyre::ensure!(s.is_success(), "{url}: {s}");
            Ok::<f64, eyre::Report>(t.elapsed().as_secs_f64() * 1000.0)
        }
    };
    for q in &queries {
        run(q.clone()).await?;
    }
    let mut lat = vec![];
    let mut per_shape: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for _round in 0..10 {
        for (i, q) in queries.iter().enumerate() {
            let ms = run(q.clone()).await?;
            lat.push(ms);
            per_shape.entry(i % 8).or_default().push(ms);
        }
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "search ({} requests over {} listings): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        listings,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    let shapes = [
        "q=word (relevance)",
        "q=two words relevance",
        "q+kind sort price",
        "category+kind",
        "tags (2)",
        "price range",
        "q+price range (relev.)",
        "sort=price_desc",
    ];
    for (i, mut v) in per_shape {
        v.sort_by(f64::total_cmp);
        println!(
            "  {:<24} p50 {:>6.2} ms  p99 {:>6.2} ms",
            shapes[i],
            percentile(&v, 0.5),
            percentile(&v, 0.99)
        );
    }

    println!("load average after the search run: {}", loadavg());
    // Order lookups: concurrent keep-alive clients for a fixed time.
    let ids: Vec<String> = sqlx::query_as::<_, (Vec<u8>,)>(
        "SELECT order_id FROM escrow_orders TABLESAMPLE SYSTEM (1) LIMIT 5000",
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|(b,)| format!("0x{}", hex::encode(b)))
    .collect();
    let ids = Arc::new(ids);
    let conc = env_u64("PACT_BENCH_CONCURRENCY", 64) as usize;
    let secs = env_u64("PACT_BENCH_SECS", 10);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for w in 0..conc {
        let (http, ids, done, stop, base) = (
            http.clone(),
            ids.clone(),
            done.clone(),
            stop.clone(),
            base.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let url = format!("{base}/v1/orders/{}", ids[i % ids.len()]);
                let r = http.get(&url).send().await?;
                eyre::ensure!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += conc;
            }
            Ok::<(), eyre::Report>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (t, before) = (Instant::now(), done.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let n = done.load(Ordering::Relaxed) - before;
    let el = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    println!(
        "GET /v1/orders/{{id}} ({} orders in the table, {conc} connections, {secs} s): {:.0} requests/s",
        orders,
        n as f64 / el
    );
    println!("load average after the orders run: {}", loadavg());
    Ok(())
}
