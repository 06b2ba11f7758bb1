//! Indexer bench: fills a real anvil with `PACT_BENCH_EVENTS` (default 1,000,000) Transfer events,
//! runs the real `pact-indexer` binary against a fresh PostgreSQL database and prints:
//! backfill events/s end to end, peak RSS of the indexer, disk per 1M events, head latency
//! (block mined → row visible) p50/p99, and PostgreSQL's binary COPY rate for the same rows into
//! an identical table (the ceiling), all from one run.
//!
//! `cargo bench -p pact-indexer --bench backfill` (set `PACT_BENCH_EVENTS` for a smaller run).

use alloy::{
    node_bindings::Anvil,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
};
use pact_bindings::LogEmitter;
use pact_indexer::{copy::CopyBuf, store::Store};
use pact_testkit::bench::percentile;
use pact_testkit::{KillOnDrop, TestDb};
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const PER_TX: u64 = 1_000;

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let events: u64 = std::env::var("PACT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let txs = events.div_ceil(PER_TX);
    let anvil = Anvil::at(pact_bindings::toolchain::foundry_bin("anvil"))
        .args(["--gas-limit", "100000000"])
        .try_spawn()?;
    let wallet = alloy::network::EthereumWallet::from(
        alloy::signers::local::PrivateKeySigner::from(anvil.keys()[0].clone()),
    );
    let provider = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(anvil.endpoint_url());
    let emitter = LogEmitter::deploy(&provider).await?;
    let deploy_block = provider.get_block_number().await?;

    println!(
        "filling anvil with {} events ({txs} transactions of {PER_TX})...",
        txs * PER_TX
    );
    let t = Instant::now();
    for i in 0..txs {
        emitter
            .emitTransfers(
                Address::with_last_byte(1),
                Address::with_last_byte(0x40),
                U256::from(i * PER_TX),
                U256::from(PER_TX),
            )
            .gas(60_000_000)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    println!("  filled in {:.1}s", t.elapsed().as_secs_f64());
    let head = provider.get_block_number().await?;

    let db = TestDb::new().await?;
    let store = Store::connect(&db.url).await?;
    let dir = std::env::temp_dir().join(format!("pact-bench-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir)?;
    let deployment = dir.join("31337.json");
    std::fs::write(
        &deployment,
        serde_json::json!({ "chainId": 31337, "token": emitter.address(), "deployBlock": deploy_block }).to_string(),
    )?;

    // Backfill with the real binary.
    let t = Instant::now();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pact-indexer"))
            .args(["--database-url", &db.url, "--chain"])
            .arg(format!(
                "rpc={},deployment={}",
                anvil.endpoint(),
                deployment.display()
            ))
            .args(["--poll-ms", "5"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let pid = child.0.id();
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss_kib(pid));
        if store.cursor(31337).await?.is_some_and(|c| c.number >= head) {
            break;
        }
        eyre::ensure!(
            t.elapsed() < Duration::from_secs(900),
            "backfill did not finish in 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backfill = t.elapsed().as_secs_f64();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM token_transfers")
        .fetch_one(store.pool())
        .await?;
    eyre::ensure!(
        rows as u64 == txs * PER_TX,
        "expected {} rows, found {rows}",
        txs * PER_TX
    );
    sqlx::query("VACUUM ANALYZE token_transfers")
        .execute(store.pool())
        .await?;
    let disk: i64 = sqlx::query_scalar(
        "SELECT pg_total_relation_size('token_transfers') + pg_total_relation_size('blocks') + pg_total_relation_size('indexer_cursors')",
    )
    .fetch_one(store.pool())
    .await?;

    // Head latency: one event per block, mined → row visible.
    let mut lat = Vec::new();
    for i in 0..200u64 {
        let block = provider.get_block_number().await? + 1;
        let _pending = emitter
            .emitTransfers(
                Address::with_last_byte(2),
                Address::with_last_byte(0x41),
                U256::from(i),
                U256::from(1),
            )
            .send()
            .await?;
        let mined = Instant::now(); // automine: the block exists when the send returns
        // The cursor moves in the same transaction as the rows: cursor >= block <=> row visible.
        loop {
            if store
                .cursor(31337)
                .await?
                .is_some_and(|c| c.number >= block)
            {
                break;
            }
            eyre::ensure!(
                mined.elapsed() < Duration::from_secs(10),
                "block {block} never indexed"
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        lat.push(mined.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    peak = peak.max(peak_rss_kib(pid));
    child.kill()?;
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());

    // The ceiling: binary COPY of the same rows into an identical table.
    sqlx::query("CREATE TABLE copy_ceiling (LIKE token_transfers INCLUDING ALL)")
        .execute(store.pool())
        .await?;
    let all: Vec<(i64, i32, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, String)> = sqlx::query_as(
        "SELECT block_number, log_index, tx_hash, token, sender, recipient, amount::text FROM token_transfers",
    )
    .fetch_all(store.pool())
    .await?;
    let mut buf = CopyBuf::new();
    for r in &all {
        buf.row(8)
            .i64(31337)
            .i64(r.0)
            .i32(r.1)
            .bytea(&r.2)
            .bytea(&r.3)
            .bytea(&r.4)
            .bytea(&r.5)
            .numeric(r.6.parse::<U256>()?);
    }
    let payload = buf.finish();
    let t = Instant::now();
    let mut conn = store.pool().acquire().await?;
    let mut copy = conn
        .copy_in_raw("COPY copy_ceiling (chain_id, block_number, log_index, tx_hash, token, sender, recipient, amount) FROM STDIN (FORMAT binary)")
        .await?;
    for chunk in payload.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    let ceiling = all.len() as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    std::fs::remove_dir_all(&dir)?;

    let rate = rows as f64 / backfill;
    println!(
        "\npact-indexer bench ({} events, {} blocks, 2-core machine)",
        rows,
        head - deploy_block
    );
    println!("  backfill end to end      {rate:>10.0} events/s ({backfill:.1}s)");
    println!(
        "  PostgreSQL binary COPY   {ceiling:>10.0} rows/s (same rows, same table shape: the ceiling)"
    );
    println!("  backfill / COPY ceiling  {:>10.2}", rate / ceiling);
    println!(
        "  peak RSS (indexer)       {:>10.1} MB",
        peak as f64 / 1024.0
    );
    println!(
        "  disk per 1M events       {:>10.1} MB",
        disk as f64 / rows as f64 * 1e6 / 1e6
    );
    println!(
        "  head latency             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} blocks)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().unwrap(),
        lat.len()
    );
    Ok(())
}
