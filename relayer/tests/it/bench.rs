//! End-to-end figures (ignored by default; run with
//! `cargo nextest run -p pact-relayer --run-ignored only bench --no-capture`): updates per second,
//! gas per update landed, latency from home finality to satellite application.

use crate::common::{Stack, word};
use alloy::providers::Provider;
use pact_relayer::{batch::LiteKind, home::PlanParams, tx::FeePolicy};
use pact_testkit::AnvilApi;
use std::time::{Duration, Instant};

async fn gas_landed(s: &Stack) -> eyre::Result<(i64, i64)> {
    // The sender records a receipt just after the Lite's watermark moves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(sqlx::query_as(
        "SELECT coalesce(sum(gas_used), 0)::bigint, count(*) FROM relayer_txs WHERE status = 'mined' AND purpose LIKE 'applyBatch%'",
    )
    .fetch_one(&s.pool)
    .await?)
}

/// Sends `n` DID attribute sets from account `from` (names `prefix-k`) into few blocks.
async fn burst(s: &Stack, from: usize, prefix: &str, n: u64) -> eyre::Result<u64> {
    let p = s.hp(from);
    let me = s.home.signer(from).address();
    let reg = pact_bindings::did_registry::DIDRegistry::new(s.did_registry, p.clone());
    s.home.provider.anvil_set_auto_mine(false).await?;
    let nonce = p.get_transaction_count(me).await?;
    for k in 0..n {
        let _ = reg
            .setAttribute(
                word(&format!("{prefix}-{k}")),
                format!("value {k}").into_bytes().into(),
                1_000_000,
            )
            .nonce(nonce + k)
            .gas(200_000)
            .send()
            .await?;
        if k % 200 == 199 {
            s.home.provider.evm_mine(None).await?;
        }
    }
    if !n.is_multiple_of(200) {
        s.home.provider.evm_mine(None).await?;
    }
    s.home.provider.anvil_set_auto_mine(true).await?;
    Ok(s.home.provider.get_block_number().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "bench: prints figures"]
async fn bench_end_to_end() -> eyre::Result<()> {
    let params = PlanParams {
        epoch_blocks: 1,
        heartbeat_blocks: 0,
        max_updates: 100,
        scan_blocks: 10_000,
    };
    let mut s = Stack::new(params, 2).await?;
    s.start_signers();
    s.start_relayer(FeePolicy {
        bump_after: Duration::from_secs(2),
        ..Default::default()
    })
    .await?;

    // Latency: one update, from the block that makes it final to the Lite covering it.
    let mut lat = Vec::new();
    for k in 0..10 {
        let r = s.did_set(2, word(&format!("lat-{k}")), b"x").await?;
        let t0 = Instant::now();
        s.mine_home(2).await?; // the event's block is now final (2 confirmations)
        s.wait_covered(
            LiteKind::Did,
            r.block_number.unwrap(),
            Duration::from_secs(30),
        )
        .await?;
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "latency finality -> satellite applied (1 update, 10 runs): median {:?}, max {:?}",
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );

    // Throughput and gas, fresh records: 1000 updates.
    let (g0, t0n) = gas_landed(&s).await?;
    let n = 1000;
    let tb = Instant::now();
    let last = burst(&s, 3, "fresh", n).await?;
    println!(
        "burst of {n} sent and mined in {:?} (home head {last})",
        tb.elapsed()
    );
    let t0 = Instant::now();
    s.mine_home(2).await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(100))
        .await?;
    let el = t0.elapsed();
    let (g1, t1n) = gas_landed(&s).await?;
    println!(
        "fresh records: {n} updates in {:?} after finality = {:.0} updates/s; {} batches, {:.0} gas/update (tx gas incl. 21k + calldata), {:.0} gas/batch",
        el,
        n as f64 / el.as_secs_f64(),
        t1n - t0n,
        (g1 - g0) as f64 / n as f64,
        (g1 - g0) as f64 / (t1n - t0n) as f64
    );

    // Overwrites of the same 1000 records.
    let last = burst(&s, 3, "fresh", n).await?;
    let t0 = Instant::now();
    s.mine_home(2).await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(100))
        .await?;
    let el = t0.elapsed();
    let (g2, t2n) = gas_landed(&s).await?;
    println!(
        "overwrites: {n} updates in {:?} after finality = {:.0} updates/s; {} batches, {:.0} gas/update, {:.0} gas/batch",
        el,
        n as f64 / el.as_secs_f64(),
        t2n - t1n,
        (g2 - g1) as f64 / n as f64,
        (g2 - g1) as f64 / (t2n - t1n) as f64
    );
    let max_gas: i64 =
        sqlx::query_scalar("SELECT max(gas_used) FROM relayer_txs WHERE status = 'mined'")
            .fetch_one(&s.pool)
            .await?;
    println!("largest batch transaction: {max_gas} gas (target < 5M)");
    assert!(max_gas < 5_000_000);
    Ok(())
}
