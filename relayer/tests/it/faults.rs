//! Daemons down, tampered and double signatures, home reorgs below finality, several relayers.

use crate::common::{Stack, word};
use alloy::{primitives::Address, providers::Provider, rpc::types::TransactionReceipt};
use pact_bindings::did_lite::DIDLite;
use pact_relayer::{
    RelayerError,
    batch::{Batch, LiteKind, Update, sign_digest},
    home::PlanParams,
    signer,
    store::{self, LiteId},
    tx::FeePolicy,
};
use pact_testkit::AnvilApi;
use std::time::Duration;

fn params() -> PlanParams {
    PlanParams {
        epoch_blocks: 1,
        heartbeat_blocks: 0,
        max_updates: 100,
        scan_blocks: 10_000,
    }
}

fn policy() -> FeePolicy {
    FeePolicy {
        bump_after: Duration::from_secs(2),
        ..Default::default()
    }
}

async fn alerts(s: &Stack, kind: &str) -> eyre::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM relayer_alerts WHERE kind = $1")
            .bind(kind)
            .fetch_one(&s.pool)
            .await?,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_daemons_down_progresses_three_down_stalls_then_recovers() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    s.start_signers();
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();

    s.stop_signer(0);
    s.stop_signer(1);
    let r = s.did_set(2, word("a"), b"one").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;

    s.stop_signer(2);
    let r = s.did_set(2, word("b"), b"two").await?;
    s.finalize_home().await?;
    let stalled = s
        .wait_covered(
            LiteKind::Did,
            r.block_number.unwrap(),
            Duration::from_millis(2500),
        )
        .await;
    assert!(stalled.is_err(), "three daemons down must stall");
    let wm = s.watermark(LiteKind::Did).await?;
    let signed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM relayer_signatures WHERE lite = $1 AND sequence = $2",
    )
    .bind(s.did_lite.as_slice())
    .bind(wm.lastSequence as i64 + 1)
    .fetch_one(&s.pool)
    .await?;
    assert_eq!(signed, 3, "the three live daemons signed the stalled batch");

    s.start_signer(2);
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(me, word("a")), (me, word("b"))])
        .await?;
    Ok(())
}

/// Waits until the three running daemons signed sequence 1 of set 1 of `id`; returns that batch.
async fn three_honest_signatures(s: &Stack, id: LiteId) -> eyre::Result<Batch> {
    loop {
        let rows = store::signatures_for(&s.pool, id, 1, 1).await?;
        if rows.len() == 3 {
            return Ok(rows[0].batch.clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sequence 1 of set 1 like `honest`, but setting attribute "a" of `me` (the home event of
/// receipt `r`) to another value.
fn tampered_twin(honest: &Batch, r: &TransactionReceipt, me: Address) -> Batch {
    Batch::new(
        honest.header.source_chain_id,
        1,
        1,
        honest.header.from_cursor,
        honest.header.to_cursor,
        honest.header.home_timestamp,
        &[Update::SetAttribute {
            cursor: pact_relayer::batch::cursor(
                r.block_number.unwrap(),
                r.logs()[0].log_index.unwrap(),
            ),
            did: me,
            name: word("a"),
            value: word("evil"),
            valid_to: u64::MAX,
            value_info: 4,
        }],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampered_and_forged_signatures_do_not_count_and_raise_alerts() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    for i in 0..3 {
        s.start_signer(i);
    }
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();
    let r = s.did_set(2, word("a"), b"honest").await?;
    s.finalize_home().await?;
    let id = LiteId {
        chain_id: crate::common::SAT,
        lite: s.did_lite,
    };
    let honest = three_honest_signatures(&s, id).await?;
    // Daemon 3 signs a tampered batch (another value) for the same sequence.
    let tampered = tampered_twin(&honest, &r, me);
    let key3 = s.signer_key(3);
    let d = tampered
        .header
        .digest(LiteKind::Did, crate::common::SAT, s.did_lite);
    store::sign_once(&s.pool, id, &tampered, d, key3.address(), || {
        sign_digest(&key3, d)
    })
    .await?;
    // Daemon 4's row claims the honest digest but its signature is forged (one bit flipped).
    let key4 = s.signer_key(4);
    let hd = honest
        .header
        .digest(LiteKind::Did, crate::common::SAT, s.did_lite);
    let mut forged = sign_digest(&key4, hd)?;
    forged[10] ^= 1;
    sqlx::query(
        "INSERT INTO relayer_signatures (chain_id, lite, signer_set_id, sequence, signer, digest, signature) VALUES ($1, $2, 1, 1, $3, $4, $5)",
    )
    .bind(crate::common::SAT as i64)
    .bind(s.did_lite.as_slice())
    .bind(key4.address().as_slice())
    .bind(hd.as_slice())
    .bind(&forged[..])
    .execute(&s.pool)
    .await?;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        s.watermark(LiteKind::Did).await?.lastSequence,
        0,
        "3 honest + 1 tampered + 1 forged is no quorum"
    );
    assert!(alerts(&s, "conflicting_digests").await? >= 1);
    assert!(alerts(&s, "invalid_signature").await? >= 1);

    // Daemon 3's guard now refuses to sign the honest digest for the same sequence, and its
    // daemon loop signs nothing new.
    let err = store::sign_once(&s.pool, id, &honest, hd, key3.address(), || {
        sign_digest(&key3, hd)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, RelayerError::Equivocation { sequence: 1, .. }),
        "{err}"
    );
    assert_eq!(
        signer::step(&s.pool, &key3, &s.signer_config(), &s.targets()[1]).await?,
        0
    );

    // A fourth honest daemon completes the quorum.
    s.start_signer(5);
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(me, word("a"))]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn home_reorg_below_finality_is_never_signed() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 3).await?;
    s.start_signers();
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();
    let snap = s.home.provider.anvil_snapshot().await?;
    s.did_set(2, word("reorged"), b"gone").await?;
    s.mine_home(1).await?; // depth 2 < 3 confirmations
    tokio::time::sleep(Duration::from_millis(800)).await;
    let reverted = s.home.provider.anvil_revert(snap).await?;
    assert!(reverted);
    s.home.provider.anvil_drop_all_transactions().await?;
    let r = s.did_set(3, word("canonical"), b"kept").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(s.home.signer(3).address(), word("canonical"))])
        .await?;
    let lite = DIDLite::new(s.did_lite, s.sat.provider.clone());
    assert_eq!(
        lite.attributeState(me, word("reorged"))
            .call()
            .await?
            .cursor,
        0
    );
    let packed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT packed_updates FROM relayer_batches")
        .fetch_all(&s.pool)
        .await?;
    let needle = word("reorged");
    assert!(
        packed
            .iter()
            .all(|p| !p.windows(32).any(|w| w == needle.as_slice())),
        "a reorged event was signed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relayers_at_once_both_succeed() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    s.start_signers();
    s.start_relayer_as(1, policy()).await?;
    s.start_relayer_as(2, policy()).await?;
    let me = s.home.signer(2).address();
    let mut keys = Vec::new();
    let mut last = 0;
    for k in 0..20 {
        let r = s.did_set(2, word(&format!("k{k}")), b"v").await?;
        keys.push((me, word(&format!("k{k}"))));
        last = r.block_number.unwrap();
    }
    s.finalize_home().await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(60))
        .await?;
    s.assert_did_equal(&keys).await?;
    let failed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM relayer_alerts WHERE kind = 'simulation_reverted'",
    )
    .fetch_one(&s.pool)
    .await?;
    assert_eq!(
        failed, 0,
        "a sequence landed by the other relayer counts as success"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn double_signing_daemon_gets_the_lite_paused() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    for i in 0..3 {
        s.start_signer(i);
    }
    let me = s.home.signer(2).address();
    let r = s.did_set(2, word("a"), b"honest").await?;
    s.finalize_home().await?;
    let id = LiteId {
        chain_id: crate::common::SAT,
        lite: s.did_lite,
    };
    let honest = three_honest_signatures(&s, id).await?;
    // Daemon 3 bypasses its guard: it signs the honest batch and a tampered one for sequence 1.
    let key3 = s.signer_key(3);
    let tampered = tampered_twin(&honest, &r, me);
    let dt = tampered
        .header
        .digest(LiteKind::Did, crate::common::SAT, s.did_lite);
    store::sign_once(&s.pool, id, &tampered, dt, key3.address(), || {
        sign_digest(&key3, dt)
    })
    .await?;
    let hd = honest
        .header
        .digest(LiteKind::Did, crate::common::SAT, s.did_lite);
    let sig = sign_digest(&key3, hd)?;
    sqlx::query(
        "INSERT INTO relayer_signatures (chain_id, lite, signer_set_id, sequence, signer, digest, signature) VALUES ($1, $2, 1, 1, $3, $4, $5)",
    )
    .bind(crate::common::SAT as i64)
    .bind(s.did_lite.as_slice())
    .bind(key3.address().as_slice())
    .bind(hd.as_slice())
    .bind(&sig[..])
    .execute(&s.pool)
    .await?;

    s.start_relayer(policy()).await?;
    let lite = DIDLite::new(s.did_lite, s.sat.provider.clone());
    let t0 = std::time::Instant::now();
    while !lite.paused().call().await? {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the Lite was not paused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while alerts(&s, "equivocation_reported").await? == 0 {
        assert!(t0.elapsed() < Duration::from_secs(20), "no alert");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        s.watermark(LiteKind::Did).await?.lastSequence,
        0,
        "nothing applied past the report"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn satellite_reorg_makes_the_relayer_resubmit_and_converge() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    s.start_signers();
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();
    let snap = s.sat.provider.anvil_snapshot().await?;
    let a = s.did_set(2, word("a"), b"one").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        a.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    assert!(s.watermark(LiteKind::Did).await?.lastSequence >= 1);
    // The satellite forgets the landed batches.
    let reverted = s.sat.provider.anvil_revert(snap).await?;
    assert!(reverted);
    s.sat.provider.anvil_drop_all_transactions().await?;
    let b = s.did_set(2, word("b"), b"two").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        b.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(me, word("a")), (me, word("b"))])
        .await?;
    // The stored nonce catches up with the chain once the last receipt is seen.
    let relayer = s.sat.signer(1).address();
    let t0 = std::time::Instant::now();
    let (stored, landed) = loop {
        let landed = s.sat.provider.get_transaction_count(relayer).await?;
        let stored: i64 =
            sqlx::query_scalar("SELECT next_nonce FROM relayer_nonces WHERE address = $1")
                .bind(relayer.as_slice())
                .fetch_one(&s.pool)
                .await?;
        if stored as u64 == landed || t0.elapsed() > Duration::from_secs(5) {
            break (stored, landed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        stored as u64, landed,
        "no nonce gap after the satellite reorg"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signer_rotation_with_batches_in_flight() -> eyre::Result<()> {
    let mut s = Stack::new(params(), 2).await?;
    // Rotate DID/Identity/Staking Lites at sequence 2 to daemons 1..5 (3 of 5).
    let new_set: Vec<_> = (1..6).map(|i| s.signer_key(i).address()).collect();
    s.rotation = Some(pact_relayer::signer::Rotation {
        from_set_id: 1,
        sequence: 2,
        threshold: 3,
        signers: new_set,
    });
    s.start_signers();
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();
    // Two updates in flight in separate blocks: the first is sequence 1, the second waits for the
    // rotation (sequence 2) and lands as sequence 3 under set 2.
    let a = s.did_set(2, word("a"), b"one").await?;
    let b = s.did_set(2, word("b"), b"two").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        b.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    let wm = s.watermark(LiteKind::Did).await?;
    assert_eq!((wm.signerSetId, wm.lastSequence), (2, 3));
    assert!(a.block_number < b.block_number);
    // Daemon 0 left the set; two more down still leaves 3 of 5.
    s.stop_signer(1);
    s.stop_signer(2);
    let c = s.did_set(2, word("c"), b"three").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        c.block_number.unwrap(),
        Duration::from_secs(30),
    )
    .await?;
    s.assert_did_equal(&[(me, word("a")), (me, word("b")), (me, word("c"))])
        .await?;
    let old_key: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM relayer_signatures WHERE signer = $1 AND signer_set_id = 2",
    )
    .bind(s.signer_key(0).address().as_slice())
    .fetch_one(&s.pool)
    .await?;
    assert_eq!(old_key, 0, "a daemon outside the set signs nothing");
    // A replay of the rotation or of an old batch is rejected by the Lite.
    let rows = store::signatures_for(
        &s.pool,
        LiteId {
            chain_id: crate::common::SAT,
            lite: s.did_lite,
        },
        1,
        1,
    )
    .await?;
    let lite = pact_bindings::staking_lite::StakingLite::new(s.did_lite, s.sat.provider.clone());
    let mut sigs: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.signer,
                <[u8; 65]>::try_from(r.signature.as_ref()).unwrap(),
            )
        })
        .collect();
    sigs.truncate(4);
    let replay = lite
        .applyBatch(
            rows[0].batch.header.into(),
            rows[0].batch.packed.clone(),
            pact_relayer::batch::concat_sorted(sigs),
        )
        .call()
        .await;
    assert!(replay.is_err(), "replayed batch accepted");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daemons_behind_a_faulty_rpc_still_agree() -> eyre::Result<()> {
    use pact_testkit::rpc_proxy::{FaultProxy, Faults};
    let mut s = Stack::new(params(), 2).await?;
    let faults = Faults {
        server_error: 0.1,
        rate_limited: 0.05,
        truncated: 0.05,
        delayed: 0.1,
        delay: Duration::from_millis(30),
        max_logs: None,
        ..Faults::default()
    };
    let home_proxy = FaultProxy::start(&s.home.rpc_url(), faults.clone(), 7).await?;
    let sat_proxy = FaultProxy::start(&s.sat.rpc_url(), faults, 11).await?;
    s.signer_rpc = Some((
        pact_relayer::config::provider(&home_proxy.url())?,
        pact_relayer::config::provider(&sat_proxy.url())?,
    ));
    s.start_signers();
    s.start_relayer(policy()).await?;
    let me = s.home.signer(2).address();
    let mut keys = Vec::new();
    let mut last = 0;
    for k in 0..30 {
        let r = s
            .did_set(2, word(&format!("f{}", k % 20)), format!("v{k}").as_bytes())
            .await?;
        keys.push((me, word(&format!("f{}", k % 20))));
        last = r.block_number.unwrap();
    }
    s.finalize_home().await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(90))
        .await?;
    s.assert_did_equal(&keys).await?;
    assert!(
        home_proxy
            .stats()
            .injected
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "faults were injected"
    );
    assert_eq!(
        alerts(&s, "conflicting_digests").await?,
        0,
        "the daemons never disagreed"
    );
    Ok(())
}
