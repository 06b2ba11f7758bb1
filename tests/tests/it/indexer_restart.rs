//! The indexer killed with SIGKILL mid-flow, three times at different points (right after a burst
//! of funding while it follows the head, right after a burst of transitions, and during the
//! catch-up after a restart), while eight orders go through every kind of ending. At the end its
//! database holds, row for row, what a clean indexer run over the same chain writes into a second
//! fresh database; every escrow log and token transfer of the chain is there exactly once; every
//! order's projection equals the chain's `getOrder`, and the API serves the same states and audit
//! trails.

use crate::stack::{
    ARBITER, BUYER, BUYER2, DAY, HOME_ID, Opts, SELLER, Stack, THIRD, b256, cursor_of, new_id,
    state_name, table_rows, tx,
};
use alloy::{
    primitives::{B256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use pact_bindings::test_usdt::TestUSDT;
use pact_testkit::TestDb;
use std::time::Duration;

/// (table, primary-key order) of the escrow tables compared row for row.
const TABLES: [(&str, &str); 4] = [
    ("escrow_events", "chain_id, block_number, log_index"),
    ("escrow_orders", "chain_id, escrow, order_id"),
    ("escrow_configs", "chain_id, escrow, config_id"),
    ("token_transfers", "chain_id, block_number, log_index"),
];

#[tokio::test]
async fn indexer_killed_mid_flow_loses_and_doubles_nothing() -> eyre::Result<()> {
    let mut s = Stack::up(Opts {
        keeper: false,
        ..Opts::escrow("indexer_restart")
    })
    .await?;
    let now = s.now().await?;
    let buyer_of = |k: usize| if k.is_multiple_of(2) { BUYER } else { BUYER2 };
    let ids: Vec<B256> = (0..8).map(|k| new_id(s.addr(buyer_of(k)))).collect();
    let [a, b, c, d, e, f, g, h] = ids[..] else {
        unreachable!()
    };
    let (b1, b2, sp, ap, tp) = (
        s.hp(BUYER),
        s.hp(BUYER2),
        s.hp(SELLER),
        s.hp(ARBITER),
        s.hp(THIRD),
    );
    let as_b1 = s.escrow_as(BUYER);
    let as_b2 = s.escrow_as(BUYER2);
    let as_seller = s.escrow_as(SELLER);

    // 1. Eight orders funded; the indexer dies right after, while following the head.
    for (k, id) in ids.iter().enumerate() {
        let deliver_by = now + if *id == h { 10 * DAY } else { 2 * DAY };
        s.fund(buyer_of(k), *id, 1_000_000 * (k as u64 + 1), deliver_by)
            .await?;
    }
    s.kill("indexer")?;

    // 2. While it is down: proofs, deliveries started, a cancellation.
    s.prove(a, "a").await?;
    tx!(sp, as_seller.startDelivery(b));
    tx!(b1, as_b1.cancel(c));
    let mid = s.prove(d, "d").await?.block_number.unwrap_or_default();
    tx!(sp, as_seller.startDelivery(e));
    s.prove(f, "f").await?;
    s.prove(g, "g").await?;
    s.start_indexer()?;
    s.wait(
        "the restarted indexer past the middle of the outage",
        Duration::from_secs(30),
        || async { (s.cursor(HOME_ID).await >= mid as i64).then_some(()) },
    )
    .await?;

    // 3. A burst of transitions; the indexer dies right after it.
    tx!(b1, as_b1.accept(a));
    s.prove(b, "b").await?;
    tx!(b2, as_b2.reject(d, keccak256("incomplete")));
    tx!(b2, as_b2.startReview(f));
    tx!(b1, as_b1.dispute(g, keccak256("late")));
    s.kill("indexer")?;

    // 4. While it is down: a dispute, a seller refund, a settlement.
    tx!(sp, as_seller.dispute(b, keccak256("buyer silent")));
    tx!(sp, as_seller.refund(d));
    tx!(b1, as_b1.proposeSettlement(g, 6_000));
    tx!(sp, as_seller.acceptSettlement(g, 6_000));
    // Restarted with one-block log ranges, and killed again as soon as its catch-up has
    // committed something.
    let before = s.cursor(HOME_ID).await;
    s.start_indexer_with(&["--max-range", "1", "--concurrency", "1"])?;
    let started = std::time::Instant::now();
    while s.cursor(HOME_ID).await == before {
        eyre::ensure!(started.elapsed() < Duration::from_secs(30), "no catch-up");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.kill("indexer")?;
    let (killed_at, head_then) = (
        s.cursor(HOME_ID).await,
        s.home.provider.get_block_number().await?,
    );
    s.start_indexer()?;

    // 5. The arbiter rules; after the deadline a third party refunds the order never proved;
    //    anyone sends the fees to the treasury.
    tx!(ap, s.escrow_as(ARBITER).resolve(b, 2_500));
    s.warp(2 * DAY + 1).await?;
    tx!(tp, s.escrow_as(THIRD).advance(e));
    tx!(tp, s.escrow_as(THIRD).withdrawFees());
    s.wait_indexed().await?;

    // The same chain indexed once, cleanly, into a second database.
    let clean = TestDb::new().await?;
    let clean_pool = clean.pool().await?;
    let clean_url = clean.url.clone();
    s.start_indexer_as("indexer-clean", &clean_url, &[])?;
    let head = s.home.provider.get_block_number().await? as i64;
    s.wait(
        "the clean indexer at the head",
        Duration::from_secs(30),
        || async { (cursor_of(&clean_pool, HOME_ID).await >= head).then_some(()) },
    )
    .await?;
    s.kill("indexer-clean")?;
    for (table, order) in TABLES {
        let restarted = table_rows(&s.pool, table, order).await?;
        let once = table_rows(&clean_pool, table, order).await?;
        assert!(!once.is_empty(), "{table} is empty");
        if restarted != once {
            let diff = restarted
                .iter()
                .zip(&once)
                .find(|(x, y)| x != y)
                .map(|(x, y)| format!("first difference:\n  restarted {x}\n  clean     {y}"))
                .unwrap_or_default();
            panic!(
                "{table}: {} rows after the kills, {} in a clean run; {diff}",
                restarted.len(),
                once.len()
            );
        }
    }

    // Every log of the chain exactly once.
    let logs = |address, from| {
        let p = s.home.provider.clone();
        async move {
            eyre::Ok(
                p.get_logs(&Filter::new().address(address).from_block(from))
                    .await?,
            )
        }
    };
    let escrow_logs = logs(s.escrow, s.deploy_block).await?;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM escrow_events")
        .fetch_one(&s.pool)
        .await?;
    assert_eq!(events as usize, escrow_logs.len(), "escrow events");
    let transfers = logs(s.usdt, s.deploy_block)
        .await?
        .into_iter()
        .filter(|l| l.topic0() == Some(&TestUSDT::Transfer::SIGNATURE_HASH))
        .count();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM token_transfers")
        .fetch_one(&s.pool)
        .await?;
    assert_eq!(rows as usize, transfers, "token transfers");

    // Every order: the projection equals getOrder, the API agrees, and its audit trail is the
    // chain's logs of that order, in order, with their transaction hashes.
    let mut endings = Vec::new();
    for id in &ids {
        let o = s.order(*id).await?;
        let row: (String, Vec<u8>, Vec<u8>, String, i64, i64, i32) = sqlx::query_as(
            "SELECT state, buyer, seller, amount::text, deliver_by, state_since, rejections
             FROM escrow_orders WHERE order_id = $1",
        )
        .bind(id.as_slice())
        .fetch_one(&s.pool)
        .await?;
        assert_eq!(
            row,
            (
                state_name(o.state).to_string(),
                o.buyer.to_vec(),
                o.seller.to_vec(),
                o.amount.to_string(),
                i64::from(o.deliverBy),
                i64::from(o.stateSince),
                i32::from(o.rejections),
            ),
            "projection of {id}"
        );
        let shown = s.api.order(*id).await?;
        assert_eq!(shown["state"], state_name(o.state), "{shown}");
        let trail = s.api.events(*id).await?;
        let chain: Vec<(B256, u64)> = escrow_logs
            .iter()
            .filter(|l| l.topics().get(1) == Some(id))
            .map(|l| {
                (
                    l.transaction_hash.unwrap_or_default(),
                    l.log_index.unwrap_or_default(),
                )
            })
            .collect();
        let api: Vec<(B256, u64)> = trail
            .iter()
            .map(|t| {
                Ok((
                    b256(&t["tx_hash"])?,
                    t["log_index"].as_u64().unwrap_or(u64::MAX),
                ))
            })
            .collect::<eyre::Result<_>>()?;
        assert_eq!(api, chain, "audit trail of {id}");
        endings.push(state_name(o.state));
    }
    assert_eq!(
        endings,
        [
            "COMPLETED",
            "RESOLVED",
            "REFUNDED",
            "REFUNDED",
            "REFUNDED",
            "REVIEWING",
            "RESOLVED",
            "ESCROWED"
        ]
    );
    eprintln!("third kill at block {killed_at} of a catch-up from {before} to {head_then}");
    drop(clean_pool);
    Ok(())
}
