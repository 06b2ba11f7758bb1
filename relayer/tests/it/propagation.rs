//! Home → satellite propagation of 1, 10 and 200 updates with six daemons and a relayer; the Lite
//! state equals the fold of the home events (the home registries' state).

use crate::common::{Stack, word};
use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use pact_relayer::{batch::LiteKind, home::PlanParams, tx::FeePolicy};
use pact_testkit::AnvilApi;
use std::time::Duration;

fn params(epoch: u64) -> PlanParams {
    PlanParams {
        epoch_blocks: epoch,
        heartbeat_blocks: 0,
        max_updates: 100,
        scan_blocks: 10_000,
    }
}

async fn running(epoch: u64) -> eyre::Result<Stack> {
    let mut s = Stack::new(params(epoch), 2).await?;
    s.start_signers();
    s.start_relayer(FeePolicy {
        bump_after: Duration::from_secs(2),
        ..Default::default()
    })
    .await?;
    Ok(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_update_propagates() -> eyre::Result<()> {
    let s = running(1).await?;
    let me = s.home.signer(2).address();
    let r = s.did_set(2, word("svc"), b"https://x.example").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(me, word("svc"))]).await?;
    let wm = s.watermark(LiteKind::Did).await?;
    assert_eq!(wm.lastSequence, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_updates_across_three_lites_propagate() -> eyre::Result<()> {
    let s = running(2).await?;
    // 3 registrations, a wallet change, a suspension, 3 bonds, 2 DID attributes = 10 home events.
    let (a, _) = s.register(1, "a", 1).await?;
    let (b, _) = s.register(1, "b", 2).await?;
    let (c, _) = s.register(2, "c", 1).await?;
    s.set_wallet(1, a).await?;
    s.bond(1, a, 5_000_000).await?;
    s.bond(1, b, 7_000_000).await?;
    s.bond(2, c, 1_000_000).await?;
    let stake_head = s.home.provider.get_block_number().await?;
    s.suspend(b).await?;
    let identity_head = s.home.provider.get_block_number().await?;
    s.did_set(3, word("name"), b"agent three").await?;
    let last = s.did_set(3, word("name"), b"agent three, renamed").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        last.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.wait_covered(LiteKind::Identity, identity_head, Duration::from_secs(30))
        .await?;
    s.wait_covered(LiteKind::Staking, stake_head, Duration::from_secs(30))
        .await?;
    s.assert_identity_equal(&[a, b, c]).await?;
    s.assert_stake_equal(&[a, b, c]).await?;
    s.assert_did_equal(&[(s.home.signer(3).address(), word("name"))])
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_updates_in_one_block_are_cut_at_100_and_propagate() -> eyre::Result<()> {
    let s = running(1).await?;
    let p = s.hp(2);
    let me = s.home.signer(2).address();
    let reg = pact_bindings::did_registry::DIDRegistry::new(s.did_registry, p.clone());
    s.home.provider.anvil_set_auto_mine(false).await?;
    let nonce = alloy::providers::Provider::get_transaction_count(&p, me).await?;
    // 200 events over 150 records (the last 50 overwrite the first 50) in one block.
    let mut keys: Vec<(Address, B256)> = Vec::new();
    for k in 0..200u64 {
        let name = word(&format!("attr-{}", k % 150));
        if k < 150 {
            keys.push((me, name));
        }
        let value = format!("value {k}");
        let _ = reg
            .setAttribute(name, value.into_bytes().into(), 1_000_000)
            .nonce(nonce + k)
            .gas(200_000)
            .send()
            .await?;
    }
    s.home.provider.evm_mine(None).await?;
    s.home.provider.anvil_set_auto_mine(true).await?;
    let block = alloy::providers::Provider::get_block_number(&s.home.provider).await?;
    let logs = alloy::providers::Provider::get_logs(
        &s.home.provider,
        &alloy::rpc::types::Filter::new()
            .address(s.did_registry)
            .from_block(block)
            .to_block(block),
    )
    .await?;
    assert_eq!(logs.len(), 200, "all 200 events in one block");
    s.finalize_home().await?;
    s.wait_covered(LiteKind::Did, block, Duration::from_secs(60))
        .await?;
    s.assert_did_equal(&keys).await?;
    // At most 100 records per batch: the block is cut after the event introducing record 101;
    // the rest (50 new records, 50 overwrites of the first ones) is the second batch.
    let wm = s.watermark(LiteKind::Did).await?;
    assert_eq!(wm.lastSequence, 2);
    let counts: Vec<i32> = sqlx::query_scalar(
        "SELECT DISTINCT ON (sequence) count FROM relayer_batches WHERE lite = $1 ORDER BY sequence",
    )
    .bind(s.did_lite.as_slice())
    .fetch_all(&s.pool)
    .await?;
    assert_eq!(counts, vec![100, 100]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_refresh_the_home_timestamp_without_events() -> eyre::Result<()> {
    let mut s = Stack::new(
        PlanParams {
            epoch_blocks: 2,
            heartbeat_blocks: 4,
            max_updates: 100,
            scan_blocks: 10_000,
        },
        2,
    )
    .await?;
    s.start_signers();
    s.start_relayer(FeePolicy {
        bump_after: Duration::from_secs(2),
        ..Default::default()
    })
    .await?;
    s.mine_home(12).await?;
    let head = s.home.provider.get_block_number().await?;
    // Heartbeats end on multiples of 4 that are final (head - 2).
    let want = (head - 2) / 4 * 4;
    s.wait_covered(LiteKind::Staking, want, Duration::from_secs(30))
        .await?;
    // Exactly `want`, read until the satellite serves it: one run read a watermark below the one
    // `wait_covered` had just seen (a stale read of the node, the Lite's cursor only grows); a
    // watermark that never reaches `want` exactly still fails here.
    let exact = pact_relayer::batch::cursor(want, pact_relayer::batch::WHOLE_BLOCK);
    let t0 = std::time::Instant::now();
    let wm = loop {
        let wm = s.watermark(LiteKind::Staking).await?;
        if wm.lastCursor == exact || t0.elapsed() > Duration::from_secs(5) {
            break wm;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(wm.lastCursor, exact);
    let ts = s
        .home
        .provider
        .get_block_by_number(want.into())
        .await?
        .unwrap()
        .header
        .timestamp;
    assert_eq!(wm.lastHomeTimestamp, ts);
    let empty: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT sequence) FROM relayer_batches WHERE lite = $1 AND count = 0",
    )
    .bind(s.staking_lite.as_slice())
    .fetch_one(&s.pool)
    .await?;
    assert!(empty >= 2, "heartbeat batches carry no update");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_satellites_converge_from_one_home() -> eyre::Result<()> {
    use pact_bindings::{did_lite::DIDLite, staking_lite::StakingLite};
    use pact_relayer::{
        relay::{RelayTarget, Relayer},
        signer::{self, LiteTarget},
        tx::TxSender,
    };
    let s = running(1).await?;
    // A second satellite (chain 11) with its own DIDLite, served by the same six keys.
    let sat2 = pact_testkit::anvil(11)?;
    let set: Vec<Address> = (0..6).map(|i| s.signer_key(i).address()).collect();
    let did2 = pact_testkit::deploy::Lites::deploy(&sat2.provider, crate::common::HOME, set, 4)
        .await?
        .did;
    let target = LiteTarget {
        kind: LiteKind::Did,
        chain_id: 11,
        lite: did2,
        satellite: sat2.provider.clone(),
        source: s.did_registry,
        start_block: s.start_block,
    };
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (pool, key, cfg, t) = (
            s.pool.clone(),
            s.signer_key(i),
            s.signer_config(),
            target.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _ = signer::run(pool, key, cfg, vec![t]).await;
        }));
    }
    let sender = std::sync::Arc::new(
        TxSender::new(
            sat2.provider.clone(),
            sat2.signer(1),
            s.pool.clone(),
            FeePolicy::default(),
        )
        .await?,
    );
    let r = Relayer::new(
        s.pool.clone(),
        RelayTarget {
            kind: LiteKind::Did,
            chain_id: 11,
            lite: did2,
            provider: sat2.provider.clone(),
            sender,
        },
    );
    tasks.push(tokio::spawn(async move {
        let _ = r.run(Duration::from_millis(40)).await;
    }));

    let me = s.home.signer(2).address();
    let mut last = 0;
    for k in 0..10 {
        last = s
            .did_set(2, word(&format!("m{k}")), b"multi")
            .await?
            .block_number
            .unwrap();
    }
    s.finalize_home().await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(30))
        .await?;
    let covered = pact_relayer::batch::cursor(last, pact_relayer::batch::WHOLE_BLOCK);
    let lite2 = StakingLite::new(did2, sat2.provider.clone());
    let t0 = std::time::Instant::now();
    while lite2.watermark().call().await?.lastCursor < covered {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "second satellite did not converge"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let home =
        pact_bindings::did_registry::DIDRegistry::new(s.did_registry, s.home.provider.clone());
    let l2 = DIDLite::new(did2, sat2.provider.clone());
    for k in 0..10 {
        let h = home.attribute(me, word(&format!("m{k}"))).call().await?;
        let l = l2.attributeState(me, word(&format!("m{k}"))).call().await?;
        assert_eq!(
            (h.value, h.validTo, h.valueInfo),
            (l.value, l.validTo, l.valueInfo)
        );
    }
    // Same home window, different domain: the two satellites' digests differ.
    let digests: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT digest) FROM relayer_batches WHERE sequence = 1 AND count > 0",
    )
    .fetch_one(&s.pool)
    .await?;
    assert!(digests >= 2);
    s.assert_did_equal(
        &(0..10)
            .map(|k| (me, word(&format!("m{k}"))))
            .collect::<Vec<_>>(),
    )
    .await?;
    for t in tasks {
        t.abort();
    }
    Ok(())
}
