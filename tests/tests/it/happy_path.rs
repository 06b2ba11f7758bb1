//! The happy path through real processes: anvil, PostgreSQL, `pact-indexer`, `pact-relayer keeper`
//! and `pact-api`. Two agents meet on the API, the buyer funds on-chain with the order id and terms
//! hash the API gave, the seller proves delivery and nobody acts after that: 72 h later the review
//! has started by the clock, 72 h after that the keeper (its own key, not the test) completes the
//! order in one `advanceMany`. The API shows COMPLETED with its audit trail, and the seller's
//! webhook receiver gets correctly signed `order.updated` deliveries with distinct ids, which a
//! tampered body, timestamp or secret fails to verify.

use crate::stack::{
    BUYER, DAY, Opts, SELLER, Stack, b256, signature_valid, state_name, trail_shape, tx,
    webhook_receiver,
};
use alloy::primitives::{Address, U256, keccak256};
use pact_bindings::escrow::PactEscrow;
use serde_json::{Value, json};
use std::{collections::BTreeSet, time::Duration};

#[tokio::test]
async fn two_agents_trade_through_the_whole_stack() -> eyre::Result<()> {
    let s = Stack::up(Opts::escrow("happy_path")).await?;
    let api = &s.api;

    // Two agents meet on the API; both bind their wallets by signed challenge.
    let (hook_url, received) = webhook_receiver().await?;
    let (seller_key, hook_secret) = s.api.register("seller-bot", Some(&hook_url)).await?;
    let hook_secret = hook_secret.expect("a webhook secret at registration");
    let (buyer_key, _) = s.api.register("buyer-bot", None).await?;
    let seller_wallet = s.home.signer(SELLER);
    api.bind(&seller_key, &seller_wallet).await?;
    // The buyer binds the wallet that will fund: the API derives the order id from it.
    api.bind(&buyer_key, &s.home.signer(BUYER)).await?;
    let listing = api
        .post(
            "/v1/listings",
            Some(&seller_key),
            json!({ "kind": "offer", "title": "Summarise 40 papers", "description": "With citations",
                    "category": "research", "tags": ["summaries"], "price": "25" }),
        )
        .await?;
    let order = api
        .post(
            &format!("/v1/listings/{}/negotiations", listing["id"]),
            Some(&buyer_key),
            json!({}),
        )
        .await?;
    let id = order["order_id"].as_str().unwrap().to_string();
    assert_eq!(order["status"], "NEGOTIATING");
    let terms = api
        .post(
            &format!("/v1/orders/{id}/terms"),
            Some(&seller_key),
            json!({ "seller_address": seller_wallet.address().to_string(),
                    "deliver_by": s.now().await? + 5 * DAY, "amount": "25" }),
        )
        .await?;
    let version = terms["terms"]["version"].clone();
    api.post(
        &format!("/v1/orders/{id}/agree"),
        Some(&buyer_key),
        json!({ "terms_version": version }),
    )
    .await?;
    let agreed = api
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&seller_key),
            json!({ "terms_version": version }),
        )
        .await?;
    assert_eq!(agreed["status"], "AWAITING_PAY", "{agreed}");
    let fund = &agreed["fund"];

    // The buyer (an agent with its own wallet) pays on-chain with what the API gave it.
    let order_id = b256(&fund["order_id"])?;
    let amount: U256 = fund["amount"].as_str().unwrap().parse()?;
    assert_eq!(amount, U256::from(25_000_000u64));
    let buyer_before = s.balance(s.addr(BUYER)).await?;
    let bp = s.hp(BUYER);
    let funded = tx!(
        bp,
        PactEscrow::new(s.escrow, bp.clone()).fund(
            order_id,
            fund["seller"].as_str().unwrap().parse::<Address>()?,
            amount,
            fund["deliver_by"].as_u64().unwrap(),
            b256(&fund["terms_hash"])?,
        )
    );
    let proved = s.prove(order_id, "the summaries").await?;
    let proof_at = s.block_time(proved.block_number).await?;
    let shown = s.api_state(order_id, "PROOF_SUBMITTED").await?;
    assert_eq!(shown["terms_hash"], fund["terms_hash"]);
    assert_eq!(
        shown["proof"],
        json!({"hash": keccak256("the summaries").to_string(), "uri": "ipfs://the summaries"}),
        "{shown}"
    );

    // Nobody acts. 72 h later the keeper (not the test) starts the review, with the clock time
    // of the proof + 72 h.
    s.warp(3 * DAY + 1).await?;
    let reviewing = s.api_state(order_id, "REVIEWING").await?;
    assert_eq!(reviewing["state_since"], proof_at + 3 * DAY, "{reviewing}");
    let chain = s.order(order_id).await?;
    assert_eq!(state_name(chain.state), "REVIEWING");
    let next = s.escrow_as(BUYER).nextDeadline(order_id).call().await?;
    assert_eq!(
        (next.action, next.at),
        (2, proof_at + 6 * DAY),
        "written on-chain: COMPLETE is next, at proof + 144 h"
    );

    // 72 h after that the keeper completes the order.
    s.warp(3 * DAY).await?;
    let done = s.api_state(order_id, "COMPLETED").await?;
    let paid = s.order(order_id).await?;
    assert_eq!(state_name(paid.state), "COMPLETED", "on-chain too");
    assert_eq!(
        s.balance(seller_wallet.address()).await?,
        U256::from(24_750_000u64),
        "25 USDT minus the 1 % fee"
    );
    assert_eq!(s.accrued_fees().await?, U256::from(250_000u64));
    assert_eq!(
        s.balance(s.addr(BUYER)).await?,
        buyer_before - amount,
        "the buyer paid exactly the amount"
    );
    assert_eq!(s.balance(s.escrow).await?, U256::from(250_000u64));
    assert_eq!(done["payouts"]["seller"], "24.750000", "{done}");
    assert_eq!(done["payouts"]["fee"], "0.250000", "{done}");
    assert_eq!(done["payouts"]["buyer"], "0.000000", "{done}");
    assert_eq!(done["next_action"], Value::Null, "{done}");

    // The audit trail: the keeper's key sent the review start and the completion, as two
    // transactions.
    let trail = api.events(order_id).await?;
    let shape: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or(""),
                e["state_after"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("OrderFunded", "ESCROWED"),
            ("ProofSubmitted", "PROOF_SUBMITTED"),
            ("ReviewStarted", "REVIEWING"),
            ("OrderCompleted", "COMPLETED"),
        ],
        "{:?}",
        trail_shape(&trail)
    );
    assert_eq!(b256(&trail[0]["tx_hash"])?, funded.transaction_hash);
    assert_eq!(b256(&trail[1]["tx_hash"])?, proved.transaction_hash);
    let keeper = s.keeper_key.address();
    for e in &trail[2..] {
        let hash = b256(&e["tx_hash"])?;
        assert_eq!(s.tx_from(hash).await?, keeper, "sent by the keeper: {e}");
        assert_eq!(
            e["actor"].as_str().map(str::to_lowercase),
            Some(format!("{keeper:#x}"))
        );
    }
    assert_ne!(
        trail[2]["tx_hash"], trail[3]["tx_hash"],
        "two automatic steps"
    );
    assert_eq!(
        trail[2]["args"]["startedAt"].to_string().trim_matches('"'),
        (proof_at + 3 * DAY).to_string(),
        "the review clock started at proof + 72 h"
    );

    // The seller's webhook receiver got signed order.updated deliveries, each with its own id.
    let hooks = s
        .wait(
            "the COMPLETED order.updated webhook",
            Duration::from_secs(30),
            || {
                let received = received.clone();
                async move {
                    let r = received.lock().unwrap();
                    r.iter()
                        .any(|(h, b)| {
                            h.get("x-pact-event").is_some_and(|e| e == "order.updated")
                                && String::from_utf8_lossy(b).contains("COMPLETED")
                        })
                        .then(|| r.clone())
                }
            },
        )
        .await?;
    let mut ids = BTreeSet::new();
    for (headers, body) in &hooks {
        assert!(
            signature_valid(&hook_secret, headers, body),
            "every delivery is correctly signed"
        );
        // The verifier can fail: wrong secret, one flipped body byte, another timestamp.
        assert!(!signature_valid("whsec_not-the-secret", headers, body));
        let mut tampered = body.to_vec();
        tampered[body.len() / 2] ^= 1;
        assert!(!signature_valid(&hook_secret, headers, &tampered));
        let mut retimed = headers.clone();
        let ts: u64 = headers["x-pact-timestamp"].to_str()?.parse()?;
        retimed.insert("x-pact-timestamp", (ts + 1).to_string().parse()?);
        assert!(!signature_valid(&hook_secret, &retimed, body));
        let delivery = headers["x-pact-delivery"].to_str()?.to_string();
        let parsed: Value = serde_json::from_slice(body)?;
        assert_eq!(
            parsed["id"],
            delivery.as_str(),
            "the body names its delivery"
        );
        assert!(
            ids.insert(delivery.clone()),
            "delivery id {delivery} seen twice"
        );
    }
    // Every delivery the API logged for the seller reached the receiver, under its own id.
    let (status, log) = api
        .call(
            "GET",
            "/v1/webhooks/deliveries?limit=100",
            Some(&seller_key),
            None,
        )
        .await?;
    assert_eq!(status, 200, "{log}");
    let logged: BTreeSet<String> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "delivered")
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        logged.is_subset(&ids),
        "logged {logged:?}, received {ids:?}"
    );
    assert!(
        hooks
            .iter()
            .any(|(_, b)| String::from_utf8_lossy(b).contains(&format!("{order_id}"))),
        "the deliveries are about this order"
    );
    Ok(())
}
