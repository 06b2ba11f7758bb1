//! The keeper completes escrow orders 72 h after the proof when the buyer started the review at
//! once, and 144 h after the proof when the buyer never acted (the review starts by the clock at
//! 72 h; `nextDeadline` then reports the completion at 144 h), never early, in `advanceMany`
//! batches.

use crate::common::mined;
use alloy::{
    primitives::{B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use pact_bindings::{escrow::PactEscrow, test_usdt::TestUSDT};
use pact_relayer::{
    keeper::{Keeper, KeeperConfig},
    tx::{FeePolicy, TxSender},
};
use pact_testkit::AnvilApi;
use pact_testkit::deploy::{EscrowParams, Market};
use std::{sync::Arc, time::Duration};

const DAY: u64 = 86_400;

async fn warp(p: &alloy::providers::DynProvider, secs: u64) -> eyre::Result<()> {
    p.anvil_increase_time(secs).await?;
    p.evm_mine(None).await?;
    Ok(())
}

macro_rules! send {
    ($p:expr, $call:expr) => {{
        let pending = $call.send().await?;
        mined(&$p, *pending.tx_hash()).await?
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_completes_orders_at_72h_and_144h_in_batches() -> eyre::Result<()> {
    let chain = pact_testkit::anvil(10)?;
    let db = pact_testkit::TestDb::new().await?;
    let pool = db.pool().await?;
    pact_relayer::MIGRATOR.run(&pool).await?;
    let p0 = chain.provider.clone();
    let owner = chain.signer(0).address();
    let params = EscrowParams {
        max_fee_bps: 500,
        ..EscrowParams::standard(owner, owner, owner)
    };
    let Market { token, escrow, .. } = Market::deploy(&p0, &params).await?;
    let deploy_block = p0.get_block_number().await?;

    let (buyer, seller) = (chain.provider_for(1), chain.provider_for(2));
    let seller_addr = chain.signer(2).address();
    let amount = U256::from(1_000_000u64);
    send!(
        p0,
        TestUSDT::new(token, p0.clone()).mint(chain.signer(1).address(), amount * U256::from(10))
    );
    send!(
        buyer,
        TestUSDT::new(token, buyer.clone()).approve(escrow, amount * U256::from(10))
    );
    let now = p0
        .get_block_by_number(Default::default())
        .await?
        .unwrap()
        .header
        .timestamp;
    let ids: Vec<B256> = (0..10)
        .map(|k| pact_bindings::order_id(chain.signer(1).address(), k))
        .collect();
    for id in &ids {
        send!(
            buyer,
            PactEscrow::new(escrow, buyer.clone()).fund(
                *id,
                seller_addr,
                amount,
                now + 30 * DAY,
                B256::ZERO
            )
        );
    }
    for id in &ids {
        send!(
            seller,
            PactEscrow::new(escrow, seller.clone()).submitProof(
                *id,
                B256::ZERO,
                "ipfs://proof".into()
            )
        );
    }

    // The buyer starts the review at once on the first five orders.
    for id in &ids[..5] {
        send!(
            buyer,
            PactEscrow::new(escrow, buyer.clone()).startReview(*id)
        );
    }
    let sender = Arc::new(
        TxSender::new(
            p0.clone(),
            chain.signer(3),
            pool.clone(),
            FeePolicy::default(),
        )
        .await?,
    );
    let keeper = Keeper::new(
        pool.clone(),
        p0.clone(),
        sender,
        KeeperConfig {
            escrow,
            start_block: deploy_block,
            batch_size: 4,
            scan_blocks: 1_000,
            poll: Duration::from_millis(50),
        },
    );
    assert_eq!(keeper.pass().await?.due, 0);

    let completed = |from: u64| {
        let p0 = p0.clone();
        async move {
            eyre::Ok(
                p0.get_logs(
                    &Filter::new()
                        .address(escrow)
                        .event_signature(PactEscrow::OrderCompleted::SIGNATURE_HASH)
                        .from_block(from),
                )
                .await?
                .len(),
            )
        }
    };
    // Five seconds before 72 h: nothing is due.
    warp(&p0, 3 * DAY - 5).await?;
    assert_eq!(keeper.pass().await?.due, 0);
    // At 72 h: the five reviewed orders complete and the other five's reviews start (written on-chain,
    // so every reader sees REVIEWING), ten steps in batches of four.
    warp(&p0, 5).await?;
    let pass = keeper.pass().await?;
    assert_eq!((pass.due, pass.transactions, pass.advanced), (10, 3, 10));
    assert_eq!(completed(0).await?, 5);
    let started = p0
        .get_logs(
            &Filter::new()
                .address(escrow)
                .event_signature(PactEscrow::ReviewStarted::SIGNATURE_HASH)
                .from_block(0),
        )
        .await?;
    // Five by the buyer, five by the keeper.
    assert_eq!(started.len(), 10);
    let keeper_addr = chain.signer(3).address();
    let by_keeper = started
        .iter()
        .filter(|l| {
            PactEscrow::ReviewStarted::decode_log(&l.inner).is_ok_and(|e| e.actor == keeper_addr)
        })
        .count();
    assert_eq!(by_keeper, 5);
    assert_eq!(keeper.pass().await?.due, 0);

    // Ten seconds before 144 h nothing; at 144 h the other five complete.
    warp(&p0, 3 * DAY - 10).await?;
    assert_eq!(keeper.pass().await?.due, 0);
    warp(&p0, 10).await?;
    let pass = keeper.pass().await?;
    assert_eq!((pass.due, pass.transactions, pass.advanced), (5, 2, 5));
    assert_eq!(completed(0).await?, 10);
    for id in &ids {
        assert_eq!(
            PactEscrow::new(escrow, p0.clone())
                .getOrder(*id)
                .call()
                .await?
                .state,
            5
        );
    }
    // Terminal orders are dropped from the keeper's set.
    keeper.pass().await?;
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM relayer_keeper_orders WHERE NOT done")
        .fetch_one(&pool)
        .await?;
    assert_eq!(open, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keeper_and_relayer_share_one_nonce_manager_without_gaps() -> eyre::Result<()> {
    use crate::common::{Stack, word};
    use pact_relayer::batch::LiteKind;
    let mut s = Stack::new(
        pact_relayer::home::PlanParams {
            epoch_blocks: 1,
            heartbeat_blocks: 0,
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
    let sender = s.sender.clone().unwrap();

    // An escrow on the satellite with six reviewed orders.
    let p0 = s.sat.provider.clone();
    let owner = s.sat.signer(0).address();
    let params = EscrowParams {
        max_fee_bps: 500,
        ..EscrowParams::standard(owner, owner, owner)
    };
    let Market { token, escrow, .. } = Market::deploy(&p0, &params).await?;
    let deploy_block = p0.get_block_number().await?;
    let (buyer, seller) = (s.sat.provider_for(2), s.sat.provider_for(3));
    let amount = U256::from(1_000_000u64);
    send!(
        p0,
        TestUSDT::new(token, p0.clone()).mint(s.sat.signer(2).address(), amount * U256::from(6))
    );
    send!(
        buyer,
        TestUSDT::new(token, buyer.clone()).approve(escrow, amount * U256::from(6))
    );
    let now = p0
        .get_block_by_number(Default::default())
        .await?
        .unwrap()
        .header
        .timestamp;
    for k in 0..6 {
        let id = pact_bindings::order_id(s.sat.signer(2).address(), k);
        send!(
            buyer,
            PactEscrow::new(escrow, buyer.clone()).fund(
                id,
                s.sat.signer(3).address(),
                amount,
                now + 30 * DAY,
                B256::ZERO
            )
        );
        send!(
            seller,
            PactEscrow::new(escrow, seller.clone()).submitProof(id, B256::ZERO, "ipfs://p".into())
        );
        send!(
            buyer,
            PactEscrow::new(escrow, buyer.clone()).startReview(id)
        );
    }
    let keeper = Keeper::new(
        s.pool.clone(),
        p0.clone(),
        sender.clone(),
        KeeperConfig {
            escrow,
            start_block: deploy_block,
            batch_size: 2,
            scan_blocks: 1_000,
            poll: Duration::from_millis(40),
        },
    );
    let kt = tokio::spawn(keeper.run());
    warp(&p0, 3 * DAY + 1).await?;

    // Meanwhile the relayer lands batches from the same account.
    let me = s.home.signer(2).address();
    let mut last = 0;
    for k in 0..15 {
        last = s
            .did_set(2, word(&format!("s{k}")), b"x")
            .await?
            .block_number
            .unwrap();
    }
    s.finalize_home().await?;
    s.wait_covered(LiteKind::Did, last, Duration::from_secs(30))
        .await?;
    s.assert_did_equal(
        &(0..15)
            .map(|k| (me, word(&format!("s{k}"))))
            .collect::<Vec<_>>(),
    )
    .await?;
    let t0 = std::time::Instant::now();
    loop {
        let done = p0
            .get_logs(
                &Filter::new()
                    .address(escrow)
                    .event_signature(PactEscrow::OrderCompleted::SIGNATURE_HASH)
                    .from_block(0),
            )
            .await?
            .len();
        if done == 6 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "keeper completed {done} of 6"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The last completion is on chain; its sender records the receipt a poll later. Wait for the
    // records of every mined nonce before stopping the keeper (aborting first would leave the last
    // attempt 'sent', which a restart settles: not what this test is about).
    let addr = sender.address();
    let mined = p0.get_transaction_count(addr).await?;
    let t0 = std::time::Instant::now();
    let nonces: Vec<i64> = loop {
        let nonces: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT nonce FROM relayer_txs WHERE address = $1 AND status = 'mined' ORDER BY nonce",
        )
        .bind(addr.as_slice())
        .fetch_all(&s.pool)
        .await?;
        if nonces.len() as u64 >= mined || t0.elapsed() > Duration::from_secs(10) {
            break nonces;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    kt.abort();
    assert_eq!(
        nonces,
        (0..mined as i64).collect::<Vec<_>>(),
        "every nonce used once, no gap"
    );
    let purposes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT split_part(purpose, ':', 1) FROM relayer_txs ORDER BY 1",
    )
    .fetch_all(&s.pool)
    .await?;
    assert_eq!(
        purposes,
        vec!["advanceMany".to_string(), "applyBatch".to_string()]
    );
    Ok(())
}
