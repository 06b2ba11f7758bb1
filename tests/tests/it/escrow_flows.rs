//! Escrow endings other than the happy path, through the real indexer, keeper and API processes:
//! three rejections and an arbiter's split, the default ruling the keeper applies when the arbiter
//! never rules, and the expiry refund the keeper fires after `deliverBy`. Each checks the chain
//! (`getOrder`, token balances, accrued fees) and the API (order state and payouts, audit trail
//! with the transactions' hashes and senders).

use crate::stack::{
    ARBITER, BUYER, BUYER2, DAY, OWNER, Opts, SELLER, Stack, b256, new_id, state_name, trail_shape,
    tx,
};
use alloy::{
    primitives::{Address, B256, U256, keccak256},
    rpc::types::TransactionReceipt,
};
use serde_json::{Value, json};

/// The audit trail of `id` on the API has exactly `want` as (event, state after; "" when the event
/// is not a transition) and, event by event, the transaction hashes `hashes`; returns it.
async fn assert_trail(
    s: &Stack,
    id: B256,
    want: &[(&str, &str)],
    hashes: &[B256],
) -> eyre::Result<Vec<Value>> {
    let trail = s.api.events(id).await?;
    let shape: Vec<(String, String)> = trail_shape(&trail)
        .into_iter()
        .map(|(e, st)| (e, st.unwrap_or_default()))
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(e, st)| (e.to_string(), st.to_string()))
        .collect();
    assert_eq!(shape, want, "audit trail of {id}");
    let got: Vec<B256> = trail
        .iter()
        .map(|e| b256(&e["tx_hash"]))
        .collect::<eyre::Result<_>>()?;
    assert_eq!(got, hashes, "transaction hashes of {id}");
    Ok(trail)
}

fn actor(e: &Value) -> Option<Address> {
    e["actor"].as_str().and_then(|a| a.parse().ok())
}

fn hash(r: &TransactionReceipt) -> B256 {
    r.transaction_hash
}

#[tokio::test]
async fn three_rejections_dispute_then_the_arbiter_splits() -> eyre::Result<()> {
    let s = Stack::up(Opts::escrow("dispute")).await?;
    let (buyer, seller) = (s.addr(BUYER), s.addr(SELLER));
    let id = new_id(buyer);
    // An amount whose split rounds: the seller's share is floored, the fee is taken from it.
    let amount = 12_345_679u64;
    let funded = s.fund(BUYER, id, amount, s.now().await? + 2 * DAY).await?;
    let (buyer0, seller0) = (s.balance(buyer).await?, s.balance(seller).await?);
    let bp = s.hp(BUYER);
    let mut hashes = vec![hash(&funded)];
    for round in 1..=3u8 {
        hashes.push(hash(&s.prove(id, &format!("draft-{round}")).await?));
        let rejected = tx!(
            bp,
            s.escrow_as(BUYER)
                .reject(id, keccak256(format!("not good enough {round}")))
        );
        hashes.push(hash(&rejected));
        let o = s.order(id).await?;
        assert_eq!(o.rejections, round);
        if round < 3 {
            assert_eq!(state_name(o.state), "DELIVERING");
            // Each rejection gives the seller another review window to deliver.
            assert!(u64::from(o.deliverBy) >= s.now().await? + 3 * DAY - 5);
        } else {
            assert_eq!(
                state_name(o.state),
                "DISPUTED",
                "the third rejection disputes"
            );
            hashes.push(hash(&rejected)); // ProofRejected and DisputeOpened in one transaction
        }
    }
    let disputed = s.api_state(id, "DISPUTED").await?;
    assert_eq!(disputed["rejections"], 3, "{disputed}");
    assert_eq!(
        disputed["next_action"]["action"], "DEFAULT_RULING",
        "{disputed}"
    );

    // Only the arbiter rules.
    assert!(
        s.escrow_as(BUYER).resolve(id, 10_000).call().await.is_err(),
        "the buyer cannot rule"
    );
    let ap = s.hp(ARBITER);
    let ruled = tx!(ap, s.escrow_as(ARBITER).resolve(id, 3_333));
    hashes.push(hash(&ruled));

    // 33.33 % of 12.345679 = 4.114814 (floored) to the seller's side; 1 % of that = 0.041148
    // (floored) is the fee; the buyer gets the rest of the amount.
    let (to_buyer, to_seller, fee) = (8_230_865u64, 4_073_666u64, 41_148u64);
    assert_eq!(to_buyer + to_seller + fee, amount);
    let done = s.api_state(id, "RESOLVED").await?;
    let o = s.order(id).await?;
    assert_eq!(state_name(o.state), "RESOLVED");
    assert_eq!(s.balance(buyer).await? - buyer0, U256::from(to_buyer));
    assert_eq!(s.balance(seller).await? - seller0, U256::from(to_seller));
    assert_eq!(s.accrued_fees().await?, U256::from(fee));
    assert_eq!(
        s.balance(s.escrow).await?,
        U256::from(fee),
        "only the fee stays"
    );
    assert_eq!(done["resolution"], "ARBITER", "{done}");
    assert_eq!(done["payouts"]["buyer"], "8.230865", "{done}");
    assert_eq!(done["payouts"]["seller"], "4.073666", "{done}");
    assert_eq!(done["payouts"]["fee"], "0.041148", "{done}");
    assert_eq!(done["rejections"], 3, "{done}");
    assert_eq!(done["next_action"], Value::Null, "{done}");

    let trail = assert_trail(
        &s,
        id,
        &[
            ("OrderFunded", "ESCROWED"),
            ("ProofSubmitted", "PROOF_SUBMITTED"),
            ("ProofRejected", "DELIVERING"),
            ("ProofSubmitted", "PROOF_SUBMITTED"),
            ("ProofRejected", "DELIVERING"),
            ("ProofSubmitted", "PROOF_SUBMITTED"),
            // The third rejection is not a transition of its own: the order goes straight to
            // DISPUTED with the DisputeOpened of the same transaction.
            ("ProofRejected", ""),
            ("DisputeOpened", "DISPUTED"),
            ("OrderResolved", "RESOLVED"),
        ],
        &hashes,
    )
    .await?;
    for e in trail.iter().filter(|e| e["event"] == "ProofRejected") {
        assert_eq!(actor(e), Some(buyer), "{e}");
    }
    let ruling = trail.last().unwrap();
    assert_eq!(actor(ruling), Some(s.addr(ARBITER)), "{ruling}");
    assert_eq!(s.tx_from(hash(&ruled)).await?, s.addr(ARBITER));
    let args = &ruling["args"];
    let arg = |k: &str| {
        args[k]
            .as_str()
            .map(str::to_string)
            .unwrap_or(args[k].to_string())
    };
    assert_eq!(
        (
            arg("sellerBps"),
            arg("buyerAmount"),
            arg("sellerAmount"),
            arg("feeAmount")
        ),
        (
            "3333".into(),
            to_buyer.to_string(),
            to_seller.to_string(),
            fee.to_string()
        ),
        "{ruling}"
    );
    Ok(())
}

#[tokio::test]
async fn keeper_applies_the_default_ruling_fixed_at_funding() -> eyre::Result<()> {
    let s = Stack::up(Opts::escrow("default_ruling")).await?;
    let (buyer, seller) = (s.addr(BUYER), s.addr(SELLER));
    let id = new_id(buyer);
    let amount = 10_000_000u64;
    let funded = s.fund(BUYER, id, amount, s.now().await? + 5 * DAY).await?;
    let (buyer0, seller0) = (s.balance(buyer).await?, s.balance(seller).await?);
    // A hash-only proof: the API shows the hash and no URI.
    let proved = s.prove_hash(id, "the report").await?;
    let shown = s.api_state(id, "PROOF_SUBMITTED").await?;
    assert_eq!(
        shown["proof"],
        json!({"hash": keccak256("the report").to_string(), "uri": null}),
        "{shown}"
    );
    let bp = s.hp(BUYER);
    let disputed = tx!(bp, s.escrow_as(BUYER).dispute(id, keccak256("evidence")));
    let disputed_at = s.block_time(disputed.block_number).await?;
    // New settings after funding (3 % fee, 90 % to the seller by default) apply to new orders
    // only: this order keeps the 1 % fee and the 50/50 default ruling it was funded with.
    let op = s.hp(OWNER);
    tx!(
        op,
        s.escrow_as(OWNER)
            .setConfig(300, (3 * DAY) as u32, (7 * DAY) as u32, 9_000)
    );
    let shown = s.api_state(id, "DISPUTED").await?;
    assert_eq!(shown["default_seller_bps"], 5_000, "{shown}");
    assert_eq!(shown["fee_bps"], 100, "{shown}");
    assert_eq!(shown["next_action"]["at"], disputed_at + 7 * DAY, "{shown}");

    // A minute before the arbiter window closes nothing happens.
    let early = s.warp(7 * DAY - 60).await?;
    s.keeper_passed(early).await?;
    assert_eq!(state_name(s.order(id).await?.state), "DISPUTED");
    let next = s.escrow_as(BUYER).nextDeadline(id).call().await?;
    assert_eq!((next.action, next.at), (4, disputed_at + 7 * DAY));

    // The arbiter never rules; once the window is over the keeper applies the default ruling.
    s.warp(60).await?;
    let done = s.api_state(id, "RESOLVED").await?;
    let (to_buyer, to_seller, fee) = (5_000_000u64, 4_950_000u64, 50_000u64);
    assert_eq!(to_buyer + to_seller + fee, amount);
    assert_eq!(state_name(s.order(id).await?.state), "RESOLVED");
    assert_eq!(s.balance(buyer).await? - buyer0, U256::from(to_buyer));
    assert_eq!(s.balance(seller).await? - seller0, U256::from(to_seller));
    assert_eq!(s.accrued_fees().await?, U256::from(fee));
    assert_eq!(done["resolution"], "DEFAULT_RULING", "{done}");
    assert_eq!(done["payouts"]["buyer"], "5.000000", "{done}");
    assert_eq!(done["payouts"]["seller"], "4.950000", "{done}");
    assert_eq!(done["payouts"]["fee"], "0.050000", "{done}");

    let trail = s.api.events(id).await?;
    let ruling = trail.last().unwrap().clone();
    let ruling_tx = b256(&ruling["tx_hash"])?;
    let trail = assert_trail(
        &s,
        id,
        &[
            ("OrderFunded", "ESCROWED"),
            ("ProofSubmitted", "PROOF_SUBMITTED"),
            ("DisputeOpened", "DISPUTED"),
            ("OrderResolved", "RESOLVED"),
        ],
        &[hash(&funded), hash(&proved), hash(&disputed), ruling_tx],
    )
    .await?;
    let keeper = s.keeper_key.address();
    assert_eq!(s.tx_from(ruling_tx).await?, keeper, "the keeper ruled");
    assert_eq!(actor(&trail[3]), Some(keeper));
    assert_eq!(actor(&trail[2]), Some(buyer));
    assert_eq!(
        trail[3]["args"]["sellerBps"].to_string().trim_matches('"'),
        "5000"
    );
    Ok(())
}

#[tokio::test]
async fn keeper_refunds_orders_past_their_delivery_deadline() -> eyre::Result<()> {
    let s = Stack::up(Opts::escrow("expiry")).await?;
    let (b1, b2, seller) = (s.addr(BUYER), s.addr(BUYER2), s.addr(SELLER));
    let (b1_0, b2_0, seller0) = (
        s.balance(b1).await?,
        s.balance(b2).await?,
        s.balance(seller).await?,
    );
    let now = s.now().await?;
    // Never started, started but never proved, and one whose deadline is further away.
    let (idle, started, later) = (
        new_id(s.addr(BUYER)),
        new_id(s.addr(BUYER2)),
        new_id(s.addr(BUYER)),
    );
    let f_idle = s.fund(BUYER, idle, 7_000_000, now + DAY).await?;
    let f_started = s.fund(BUYER2, started, 3_500_000, now + DAY).await?;
    let f_later = s.fund(BUYER, later, 1_000_000, now + 3 * DAY).await?;
    let sp = s.hp(SELLER);
    let start = tx!(sp, s.escrow_as(SELLER).startDelivery(started));
    s.api_state(started, "DELIVERING").await?;
    let next = s.escrow_as(BUYER).nextDeadline(idle).call().await?;
    assert_eq!((next.action, next.at), (3, now + DAY + 1), "REFUND_EXPIRED");

    s.warp(DAY + 10).await?;
    let r_idle = s.api_state(idle, "REFUNDED").await?;
    let r_started = s.api_state(started, "REFUNDED").await?;
    for (r, amount) in [(&r_idle, "7.000000"), (&r_started, "3.500000")] {
        assert_eq!(r["refund_reason"], "DELIVERY_EXPIRED", "{r}");
        assert_eq!(r["payouts"]["buyer"], amount, "{r}");
        assert_eq!(r["payouts"]["seller"], "0.000000", "{r}");
        assert_eq!(r["payouts"]["fee"], "0.000000", "{r}");
    }
    for id in [idle, started] {
        assert_eq!(state_name(s.order(id).await?.state), "REFUNDED");
    }
    // Everything back, no fee; the order with a later deadline is untouched.
    assert_eq!(s.balance(b1).await?, b1_0 - U256::from(1_000_000u64));
    assert_eq!(s.balance(b2).await?, b2_0);
    assert_eq!(s.balance(seller).await?, seller0);
    assert_eq!(s.accrued_fees().await?, U256::ZERO);
    assert_eq!(s.balance(s.escrow).await?, U256::from(1_000_000u64));
    assert_eq!(state_name(s.order(later).await?.state), "ESCROWED");
    assert_eq!(s.api.order(later).await?["state"], "ESCROWED");

    let refund_tx = b256(&s.api.events(idle).await?[1]["tx_hash"])?;
    let trail = assert_trail(
        &s,
        idle,
        &[("OrderFunded", "ESCROWED"), ("OrderRefunded", "REFUNDED")],
        &[hash(&f_idle), refund_tx],
    )
    .await?;
    let keeper = s.keeper_key.address();
    assert_eq!(s.tx_from(refund_tx).await?, keeper, "the keeper refunded");
    assert_eq!(actor(&trail[1]), Some(keeper));
    assert_eq!(
        trail[1]["args"]["buyerAmount"]
            .to_string()
            .trim_matches('"'),
        "7000000"
    );
    assert_trail(
        &s,
        started,
        &[
            ("OrderFunded", "ESCROWED"),
            ("DeliveryStarted", "DELIVERING"),
            ("OrderRefunded", "REFUNDED"),
        ],
        &[hash(&f_started), hash(&start), refund_tx],
    )
    .await?;
    assert_trail(&s, later, &[("OrderFunded", "ESCROWED")], &[hash(&f_later)]).await?;
    Ok(())
}
