//! The keeper killed with SIGKILL in the middle of two passes, each firing eight due orders in
//! `advanceMany` batches of three (`--batch 3`):
//!
//! - pass 1 (72 h after funding: four review starts, four expiry refunds): the keeper dies with its
//!   first batch waiting in the home chain's pool (automine off); the batch is mined while it is
//!   down; the restarted keeper fires the five orders still due, and only those;
//! - pass 2 (7 days: four completions, four default rulings): the keeper dies the same way and
//!   restarts while its first batch still waits; the new process replaces it at the same nonce
//!   (fees bumped, gas estimated against the latest block) and fires the rest.
//!
//! Two more orders are due at no point and stay escrowed. At the end every order is in its
//! terminal state with its automatic steps each emitted exactly once on chain, sent by the
//! keeper's key; token balances are exact (nobody paid twice); every `advanceMany` carried at most
//! three orders and the keeper's account sent exactly one transaction per batch that landed. The
//! keeper's tables equal those of a clean keeper run over the same chain into a fresh database:
//! `relayer_keeper_orders` (the order set and the done flags) and `relayer_nonces.next_nonce`;
//! `relayer_keeper_cursors.block_number` is the head at the last pass (timing) and only compared
//! for its key; in `relayer_txs` (hashes, fees, attempts: timing) every attempt on chain is
//! marked `mined` (also the one mined while the keeper was dead) and every other `replaced`.

use crate::stack::{
    BUYER, BUYER2, DAY, Opts, SELLER, Stack, in_pool, mine_one, mined, new_id, set_automine,
    state_name, table_rows, tx,
};
use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use eyre::{Result, eyre};
use pact_bindings::escrow::PactEscrow;
use pact_testkit::TestDb;
use sqlx::PgPool;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

const BATCH: usize = 3;

/// An `advanceMany` attempt of the keeper in `relayer_txs`.
#[derive(Debug, Clone)]
struct Attempt {
    id: i64,
    hash: B256,
    nonce: i64,
}

async fn attempts_after(pool: &PgPool, after: i64) -> Result<Vec<Attempt>> {
    let rows: Vec<(i64, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT id, tx_hash, nonce FROM relayer_txs WHERE id > $1 AND purpose = 'advanceMany'
         ORDER BY id",
    )
    .bind(after)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, hash, nonce)| Attempt {
            id,
            hash: B256::from_slice(&hash),
            nonce,
        })
        .collect())
}

async fn last_attempt_id(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM relayer_txs")
            .fetch_one(pool)
            .await?,
    )
}

/// Waits for an `advanceMany` attempt after `after` that waits in the home chain's pool.
async fn pending_advance(s: &Stack, after: i64) -> Result<Attempt> {
    s.wait(
        "an advanceMany waiting in the pool",
        Duration::from_secs(30),
        || async move {
            for t in attempts_after(&s.pool, after).await.ok()?.into_iter().rev() {
                if in_pool(&s.home, t.hash).await.ok()? {
                    return Some(t);
                }
            }
            None
        },
    )
    .await
}

/// Waits until every order of `ids` is in `state` on chain.
async fn reached(s: &Stack, ids: &[B256], state: &str) -> Result<()> {
    s.wait(
        &format!("{} orders {state}", ids.len()),
        Duration::from_secs(40),
        || async move {
            for id in ids {
                if state_name(s.order(*id).await.ok()?.state) != state {
                    return None;
                }
            }
            Some(())
        },
    )
    .await
}

/// The order ids an `advanceMany` transaction carries.
fn advanced_ids(t: &alloy::rpc::types::Transaction) -> Result<Vec<B256>> {
    use alloy::consensus::Transaction as _;
    Ok(PactEscrow::advanceManyCall::abi_decode(t.input())?.orderIds)
}

/// The restarted keeper's replacement of its orphaned batch must land: its gas is estimated
/// against the latest block, not the pending one holding the orphan it replaces (which would make
/// it the estimate of a no-op and the replacement run out of gas).
async fn replacement_lands(s: &Stack, replacement: &Attempt) -> Result<()> {
    let r = mined_or_reverted(s, replacement.hash).await?;
    eyre::ensure!(
        r.status(),
        "the replacement {} reverted (gas used {})",
        replacement.hash,
        r.gas_used
    );
    Ok(())
}

/// With the keeper's batch (an attempt after `mark`) waiting in the pool, kills the keeper and
/// restarts it with `args`; returns that orphan and the restarted keeper's replacement at the same
/// nonce once it is in the pool too.
async fn restart_while_pending(
    s: &mut Stack,
    mark: i64,
    url: &str,
    args: &[&str],
) -> Result<(Attempt, Attempt)> {
    let orphan = pending_advance(s, mark).await?;
    s.kill("keeper")?;
    s.start_keeper_as("keeper", url, args)?;
    let s = &*s;
    let replacement = s
        .wait(
            "the restarted keeper's replacement at the same nonce",
            Duration::from_secs(30),
            || async {
                let all = attempts_after(&s.pool, orphan.id).await.ok()?;
                let r = all.into_iter().find(|t| t.nonce == orphan.nonce)?;
                in_pool(&s.home, r.hash).await.ok()?.then_some(r)
            },
        )
        .await?;
    Ok((orphan, replacement))
}

async fn mined_or_reverted(s: &Stack, hash: B256) -> Result<alloy::rpc::types::TransactionReceipt> {
    s.wait(
        &format!("the receipt of {hash}"),
        Duration::from_secs(10),
        || async move { s.home.provider.get_transaction_receipt(hash).await.ok()? },
    )
    .await
}

/// The order groups of the scenario.
const GROUPS: [(&str, usize); 4] = [
    ("proved", 4),   // review start in pass 1, completion in pass 2
    ("idle", 4),     // expiry refund in pass 1
    ("disputed", 4), // default ruling in pass 2
    ("later", 2),    // due at no point of the test
];

#[tokio::test]
async fn keeper_killed_mid_pass_fires_every_order_once() -> Result<()> {
    let started = Instant::now();
    let mut s = Stack::up(Opts {
        indexer: false,
        keeper: false,
        api: false,
        ..Opts::escrow("keeper_restart")
    })
    .await?;
    let url = s.db.url.clone();
    let batch = BATCH.to_string();
    s.start_keeper_as("keeper", &url, &["--batch", &batch])?;
    s.wait_migrated(&s.pool).await?;
    let (seller, b1, b2) = (s.addr(SELLER), s.addr(BUYER), s.addr(BUYER2));
    let mut balances = BTreeMap::new();
    for who in [b1, b2, seller, s.escrow] {
        balances.insert(who, s.balance(who).await?);
    }

    // Fourteen orders, amounts that round, two buyers.
    let t0 = s.now().await?;
    let mut orders: Vec<(&str, B256, usize, u64)> = Vec::new();
    for (group, n) in GROUPS {
        for _ in 0..n {
            let k = orders.len() as u64;
            let buyer = if k.is_multiple_of(2) { BUYER } else { BUYER2 };
            let amount = 1_000_000 * (k + 1) + 7 * k + 1;
            let deliver_by = t0
                + match group {
                    "idle" => 2 * DAY,
                    "later" => 30 * DAY,
                    _ => 10 * DAY,
                };
            let id = new_id(s.addr(buyer));
            s.fund(buyer, id, amount, deliver_by).await?;
            if group == "proved" || group == "disputed" {
                s.prove(id, &format!("work {k}")).await?;
            }
            if group == "disputed" {
                let p = s.hp(buyer);
                tx!(
                    p,
                    s.escrow_as(buyer)
                        .dispute(id, keccak256("not what we agreed"))
                );
            }
            orders.push((group, id, buyer, amount));
        }
    }
    let of = |g: &str| -> Vec<B256> { orders.iter().filter(|o| o.0 == g).map(|o| o.1).collect() };

    // Pass 1, 72 h later: eight orders due. The keeper dies with its first batch in the pool;
    // the batch is mined while it is down; it restarts.
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(&s.home, false).await?;
    s.warp(3 * DAY + 60).await?;
    let orphan = pending_advance(&s, mark).await?;
    s.kill("keeper")?;
    mine_one(&s.home).await?;
    set_automine(&s.home, true).await?;
    let first = mined(&s.home.provider, orphan.hash).await?;
    let input = s
        .home
        .provider
        .get_transaction_by_hash(orphan.hash)
        .await?
        .ok_or_else(|| eyre!("no {}", orphan.hash))?;
    let fired = advanced_ids(&input)?;
    assert_eq!(fired.len(), BATCH, "a full first batch");
    eprintln!(
        "pass 1: killed with {} orders in the pool, mined in block {:?} while the keeper was down",
        fired.len(),
        first.block_number
    );
    s.start_keeper_as("keeper", &url, &["--batch", &batch])?;
    // (getOrder shows REVIEWING by the clock alone: wait for a whole keeper pass after it.)
    reached(&s, &of("proved"), "REVIEWING").await?;
    reached(&s, &of("idle"), "REFUNDED").await?;
    let head = s.home.provider.get_block_number().await?;
    s.keeper_passed(head).await?;

    // Pass 2, 7 days after funding: eight orders due again. The keeper dies with its first batch
    // in the pool and restarts while it still waits there: the new process replaces it.
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(&s.home, false).await?;
    s.warp(4 * DAY + 60).await?;
    let (orphan, replacement) =
        restart_while_pending(&mut s, mark, &url, &["--batch", &batch]).await?;
    set_automine(&s.home, true).await?;
    mine_one(&s.home).await?;
    replacement_lands(&s, &replacement).await?;
    assert!(
        s.home
            .provider
            .get_transaction_receipt(orphan.hash)
            .await?
            .is_none(),
        "the orphan was replaced"
    );
    eprintln!(
        "pass 2: killed with its batch in the pool, replaced at nonce {}",
        orphan.nonce
    );
    reached(&s, &of("proved"), "COMPLETED").await?;
    reached(&s, &of("disputed"), "RESOLVED").await?;
    let head = s.home.provider.get_block_number().await?;
    s.keeper_passed(head).await?;
    s.kill("keeper")?;
    reached(&s, &of("later"), "ESCROWED").await?;

    // Each order's events on chain: its history, each automatic step once, fired by the keeper.
    let logs = s
        .home
        .provider
        .get_logs(&Filter::new().address(s.escrow).from_block(s.deploy_block))
        .await?;
    let names: BTreeMap<B256, &str> = [
        (PactEscrow::OrderFunded::SIGNATURE_HASH, "OrderFunded"),
        (PactEscrow::ProofSubmitted::SIGNATURE_HASH, "ProofSubmitted"),
        (PactEscrow::DisputeOpened::SIGNATURE_HASH, "DisputeOpened"),
        (PactEscrow::ReviewStarted::SIGNATURE_HASH, "ReviewStarted"),
        (PactEscrow::OrderCompleted::SIGNATURE_HASH, "OrderCompleted"),
        (PactEscrow::OrderRefunded::SIGNATURE_HASH, "OrderRefunded"),
        (PactEscrow::OrderResolved::SIGNATURE_HASH, "OrderResolved"),
    ]
    .into_iter()
    .collect();
    let keeper = s.keeper_key.address();
    let mut keeper_txs = BTreeSet::new();
    for (group, id, ..) in &orders {
        let mine: Vec<_> = logs
            .iter()
            .filter(|l| l.topics().get(1) == Some(id))
            .collect();
        let history: Vec<&str> = mine
            .iter()
            .map(|l| {
                l.topic0()
                    .and_then(|t| names.get(t).copied())
                    .unwrap_or("?")
            })
            .collect();
        let want: &[&str] = match *group {
            "proved" => &[
                "OrderFunded",
                "ProofSubmitted",
                "ReviewStarted",
                "OrderCompleted",
            ],
            "idle" => &["OrderFunded", "OrderRefunded"],
            "disputed" => &[
                "OrderFunded",
                "ProofSubmitted",
                "DisputeOpened",
                "OrderResolved",
            ],
            _ => &["OrderFunded"],
        };
        assert_eq!(history, want, "events of {group} order {id}");
        for l in &mine {
            let name = l.topic0().and_then(|t| names.get(t).copied());
            if matches!(
                name,
                Some("ReviewStarted" | "OrderCompleted" | "OrderRefunded" | "OrderResolved")
            ) {
                let hash = l.transaction_hash.unwrap_or_default();
                assert_eq!(
                    s.tx_from(hash).await?,
                    keeper,
                    "{name:?} of {id} by the keeper"
                );
                keeper_txs.insert(hash);
            }
        }
    }

    // Every advanceMany carried at most BATCH orders; the keeper sent nothing else.
    for hash in &keeper_txs {
        let t = s
            .home
            .provider
            .get_transaction_by_hash(*hash)
            .await?
            .ok_or_else(|| eyre!("no {hash}"))?;
        let ids = advanced_ids(&t)?;
        assert!(
            (1..=BATCH).contains(&ids.len()),
            "{hash}: {} orders",
            ids.len()
        );
    }
    let sent = s.home.provider.get_transaction_count(keeper).await?;
    assert_eq!(
        sent,
        keeper_txs.len() as u64,
        "one keeper transaction per landed batch, none wasted"
    );
    assert_eq!(
        keeper_txs.len(),
        6,
        "three batches of at most three orders per pass"
    );

    // Balances: every payout exactly once.
    let (mut want_seller, mut fees, mut open) = (U256::ZERO, U256::ZERO, U256::ZERO);
    let mut want_buyer: BTreeMap<Address, U256> = BTreeMap::new();
    for (group, _, buyer, amount) in &orders {
        let a = U256::from(*amount);
        let paid = want_buyer.entry(s.addr(*buyer)).or_default();
        *paid += a; // funded
        match *group {
            "proved" => {
                let fee = a * U256::from(100) / U256::from(10_000);
                want_seller += a - fee;
                fees += fee;
            }
            "idle" => *paid -= a,
            "disputed" => {
                let gross = a * U256::from(5_000) / U256::from(10_000);
                let fee = gross * U256::from(100) / U256::from(10_000);
                want_seller += gross - fee;
                fees += fee;
                *paid -= a - gross;
            }
            _ => open += a,
        }
    }
    for (who, paid) in &want_buyer {
        assert_eq!(s.balance(*who).await?, balances[who] - *paid, "buyer {who}");
    }
    assert_eq!(s.balance(seller).await?, balances[&seller] + want_seller);
    assert_eq!(
        s.balance(s.escrow).await?,
        balances[&s.escrow] + open + fees
    );
    assert_eq!(s.accrued_fees().await?, fees);

    // relayer_txs against the chain: the landed attempts are the keeper's transactions, marked
    // mined; the others replaced.
    let rows: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT tx_hash, status FROM relayer_txs ORDER BY id")
            .fetch_all(&s.pool)
            .await?;
    let mut landed = BTreeSet::new();
    for (hash, status) in &rows {
        let hash = B256::from_slice(hash);
        if s.home
            .provider
            .get_transaction_receipt(hash)
            .await?
            .is_some()
        {
            landed.insert(hash);
            assert_eq!(status, "mined", "{hash} is on chain");
        } else {
            assert_eq!(status, "replaced", "{hash} is not on chain");
        }
    }
    assert_eq!(landed, keeper_txs, "the attempts that landed");

    // The clean run: a fresh keeper over the same chain into a fresh database.
    let clean = TestDb::new().await?;
    let clean_pool = clean.pool().await?;
    let clean_url = clean.url.clone();
    s.start_keeper_as("keeper-clean", &clean_url, &["--batch", &batch])?;
    let head = s.home.provider.get_block_number().await?;
    s.keeper_passed_in(&clean_pool, head).await?;
    s.kill("keeper-clean")?;
    for (table, order) in [
        ("relayer_keeper_orders", "chain_id, escrow, order_id"),
        (
            "(SELECT chain_id, escrow FROM relayer_keeper_cursors)",
            "chain_id, escrow",
        ),
        (
            "(SELECT chain_id, address, next_nonce FROM relayer_nonces)",
            "chain_id, address",
        ),
    ] {
        let killed = table_rows(&s.pool, table, order).await?;
        assert!(!killed.is_empty(), "{table}");
        assert_eq!(
            killed,
            table_rows(&clean_pool, table, order).await?,
            "{table} after the kills and in a clean run"
        );
    }
    let done: Vec<(bool, i64)> = sqlx::query_as(
        "SELECT done, count(*) FROM relayer_keeper_orders GROUP BY done ORDER BY done",
    )
    .fetch_all(&s.pool)
    .await?;
    assert_eq!(done, [(false, 2), (true, 12)], "open and terminal orders");
    let clean_sent: i64 = sqlx::query_scalar("SELECT count(*) FROM relayer_txs")
        .fetch_one(&clean_pool)
        .await?;
    assert_eq!(clean_sent, 0, "the clean keeper had nothing to fire");
    eprintln!(
        "{} orders, {sent} advanceMany; {:.1} s",
        orders.len(),
        started.elapsed().as_secs_f64()
    );
    drop(clean_pool);
    Ok(())
}

/// The keeper dies with a batch of three due completions in the pool and restarts while it still
/// waits: the replacement it sends at the same nonce lands the three payouts.
#[tokio::test]
async fn a_restarted_keeper_replaces_its_pending_batch_with_enough_gas() -> Result<()> {
    let mut s = Stack::up(Opts {
        indexer: false,
        keeper: false,
        api: false,
        ..Opts::escrow("keeper_replacement")
    })
    .await?;
    let url = s.db.url.clone();
    s.start_keeper_as("keeper", &url, &[])?;
    s.wait_migrated(&s.pool).await?;
    let t0 = s.now().await?;
    let mut ids = Vec::new();
    for k in 0..3 {
        let id = new_id(s.addr(BUYER));
        s.fund(BUYER, id, 1_000_000, t0 + 10 * DAY).await?;
        s.prove(id, &format!("work {k}")).await?;
        ids.push(id);
    }
    // The keeper starts the reviews; then the completions (payouts) are due together.
    s.warp(3 * DAY + 60).await?;
    reached(&s, &ids, "REVIEWING").await?;
    let head = s.home.provider.get_block_number().await?;
    s.keeper_passed(head).await?;
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(&s.home, false).await?;
    s.warp(3 * DAY).await?;
    let (_orphan, replacement) = restart_while_pending(&mut s, mark, &url, &[]).await?;
    set_automine(&s.home, true).await?;
    mine_one(&s.home).await?;
    let r = mined_or_reverted(&s, replacement.hash).await?;
    assert!(
        r.status(),
        "the replacement {} reverted, gas used {}",
        replacement.hash,
        r.gas_used
    );
    Ok(())
}
