//! A funding reorged out of the chain: the order goes back from the chain's state to
//! `AWAITING_PAY`, and the negotiations its funding cancelled get their status back. Over
//! fixtures of the indexer's tables (with a restart across a rewind), and over a real anvil reorg
//! followed by the real indexer.

use crate::common::*;
use serde_json::{Value, json};

/// The app status of an order as a party sees it (`state`), and where it comes from.
async fn state_of(app: &App, id: &str, key: &str) -> (String, String) {
    let (s, v) = app.get(&format!("/v1/orders/{id}"), Some(key)).await;
    assert_eq!(s, 200, "{v}");
    let state = match v["source"].as_str() {
        Some("chain") => v["negotiation"]["status"].as_str().unwrap().to_string(),
        _ => v["state"].as_str().unwrap().to_string(),
    };
    (state, v["source"].as_str().unwrap().to_string())
}

async fn wait_state(app: &App, id: &str, key: &str, want: &str) {
    eventually(&format!("{id} {want}"), || async {
        (state_of(app, id, key).await.0 == want).then_some(())
    })
    .await;
}

/// Waits until the API has announced every escrow event the indexer holds: its watermark is the
/// last event there is (after a rewind the watermark first has to come back to it). The states
/// read through the join change with the indexer's rows; the announcements follow.
async fn announced(app: &App) {
    eventually("the API's watermark at the last escrow event", || async {
        let done: Option<bool> = sqlx::query_scalar(
            "SELECT w.seq = COALESCE((SELECT max(e.seq) FROM escrow_events e
                                      WHERE e.chain_id = w.chain_id AND e.order_id IS NOT NULL), 0)
             FROM api_chain_watermarks w WHERE w.chain_id = $1",
        )
        .bind(CHAIN)
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        (done == Some(true)).then_some(())
    })
    .await;
}

/// Opens a negotiation of `buyer` on `listing`; returns its order id.
async fn negotiate(app: &App, listing: i64, buyer: &str) -> String {
    let (s, o) = app
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            Some(buyer),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    o["order_id"].as_str().unwrap().to_string()
}

/// Complete terms from the seller, agreed by both: returns the order in `AWAITING_PAY`.
async fn agree(app: &App, id: &str, seller: &str, buyer: &str, seller_addr: &str) -> Value {
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/terms"),
            Some(seller),
            json!({ "seller_address": seller_addr, "deliver_by": T0 + 7 * 86400, "amount": "25" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let version = v["terms"]["version"].clone();
    for key in [buyer, seller] {
        let (s, v) = app
            .post(
                &format!("/v1/orders/{id}/agree"),
                Some(key),
                json!({ "terms_version": version }),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, v) = app.get(&format!("/v1/orders/{id}"), Some(buyer)).await;
    assert_eq!(v["state"], "AWAITING_PAY", "{v}");
    v
}

/// The `order.updated` app payloads queued for the agent with `key`, oldest first.
async fn app_notices(app: &App, handle: &str, order: &str) -> Vec<(String, Option<String>)> {
    let rows: Vec<(Value,)> = sqlx::query_as(
        "SELECT d.payload FROM webhook_deliveries d JOIN agents a ON a.id = d.agent_id
         WHERE a.handle = $1 AND d.event = 'order.updated' AND d.payload->>'source' = 'app'
           AND d.payload->>'order_id' = $2 ORDER BY d.id",
    )
    .bind(handle)
    .bind(order)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(p,)| {
            (
                p["state"].as_str().unwrap().to_string(),
                p["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_funding_reorged_out_reopens_the_order_and_restores_the_rivals() {
    let mut app = App::spawn().await;
    let hook = Some("http://127.0.0.1:9/hook");
    let alice = app.register_with("alice", hook).await.0;
    let bob = app.register_with("bob", hook).await.0;
    let carol = app.register_with("carol", hook).await.0;
    let dave = app.register_with("dave", hook).await.0;
    let erin = app.register("erin").await;
    let (_, seller) = app.bind_wallet(&alice).await;
    for buyer in [&bob, &carol, &dave, &erin] {
        app.bind_wallet(buyer).await;
    }
    let seller_addr = seller.to_string();
    let listing = app.listing(&alice, "offer", "Audit", "25").await;
    let won = negotiate(&app, listing, &bob).await;
    let talking = negotiate(&app, listing, &carol).await;
    let rival = negotiate(&app, listing, &dave).await;
    let walked = negotiate(&app, listing, &erin).await;
    agree(&app, &won, &alice, &bob, &seller_addr).await;
    agree(&app, &rival, &alice, &dave, &seller_addr).await;
    let (s, _) = app
        .post(
            &format!("/v1/orders/{walked}/cancel"),
            Some(&erin),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);

    // Bob's order is funded at block 10.
    let buyer = alloy::primitives::Address::repeat_byte(0xb0);
    chain_order(
        &app.pool, &won, buyer, seller, "25000000", "ESCROWED", 10, None,
    )
    .await;
    chain_event(&app.pool, &won, 10, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 10).await;
    wait_state(&app, &rival, &dave, "CANCELLED").await;
    announced(&app).await;
    assert_eq!(
        state_of(&app, &won, &bob).await,
        ("FUNDED".into(), "chain".into())
    );
    assert_eq!(state_of(&app, &talking, &carol).await.0, "CANCELLED");

    // A reorg removes block 10: bob's order is unfunded, the rivals are back where they were.
    indexer_rewind(&app.pool, 9).await;
    wait_state(&app, &won, &bob, "AWAITING_PAY").await;
    announced(&app).await;
    assert_eq!(
        state_of(&app, &won, &bob).await,
        ("AWAITING_PAY".into(), "app".into())
    );
    assert_eq!(state_of(&app, &talking, &carol).await.0, "NEGOTIATING");
    assert_eq!(state_of(&app, &rival, &dave).await.0, "AWAITING_PAY");
    assert_eq!(state_of(&app, &walked, &erin).await.0, "CANCELLED");
    // The funding is gone from the order's public view too.
    assert_eq!(app.get(&format!("/v1/orders/{won}"), None).await.0, 404);
    // Restored negotiations can go on: carol's terms can change, dave's order can be cancelled.
    let (s, v) = app
        .post(
            &format!("/v1/orders/{talking}/terms"),
            Some(&carol),
            json!({ "details": "still interested" }),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        app_notices(&app, "bob", &won).await.last().unwrap().0,
        "AWAITING_PAY"
    );
    let carol_saw = app_notices(&app, "carol", &talking).await;
    assert_eq!(
        carol_saw.iter().map(|n| n.0.as_str()).collect::<Vec<_>>(),
        ["CANCELLED", "NEGOTIATING"],
        "{carol_saw:?}"
    );

    // On the new branch dave's order is funded instead (block 11): bob's is cancelled by it.
    chain_order(
        &app.pool, &rival, buyer, seller, "25000000", "ESCROWED", 11, None,
    )
    .await;
    chain_event(&app.pool, &rival, 11, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 11).await;
    wait_state(&app, &won, &bob, "CANCELLED").await;
    announced(&app).await;
    assert_eq!(state_of(&app, &rival, &dave).await.0, "FUNDED");
    assert_eq!(state_of(&app, &talking, &carol).await.0, "CANCELLED");
    // The second cancellation of carol's negotiation is a delivery of its own.
    assert_eq!(app_notices(&app, "carol", &talking).await.len(), 3);

    // That funding is reorged out while the API is down: applied at the next start.
    app.stop().await;
    indexer_rewind(&app.pool, 10).await;
    let mut app = App::start(app.db.clone(), app.clock.clone(), settings()).await;
    wait_state(&app, &rival, &dave, "AWAITING_PAY").await;
    announced(&app).await;
    assert_eq!(state_of(&app, &won, &bob).await.0, "AWAITING_PAY");
    assert_eq!(state_of(&app, &talking, &carol).await.0, "NEGOTIATING");
    // The restarted API announced the removed funding: dave's order is open again, carol's
    // negotiation is back (its fourth notice), bob's order is no longer cancelled.
    assert_eq!(
        app_notices(&app, "dave", &rival).await.last().unwrap().0,
        "AWAITING_PAY"
    );
    let carol_saw = app_notices(&app, "carol", &talking).await;
    assert_eq!(
        carol_saw.iter().map(|n| n.0.as_str()).collect::<Vec<_>>(),
        ["CANCELLED", "NEGOTIATING", "CANCELLED", "NEGOTIATING"],
        "{carol_saw:?}"
    );
    assert_eq!(
        app_notices(&app, "bob", &won).await.last().unwrap().0,
        "AWAITING_PAY"
    );
    // Applied once: another start does not apply it again.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.stop().await;
    let app = App::start(app.db.clone(), app.clock.clone(), settings()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(state_of(&app, &won, &bob).await.0, "AWAITING_PAY");
}

mod real_chain {
    //! The same over a real chain: anvil, the contracts, the real indexer following it (in
    //! process, on the API's database), the funding sent with the API's `fund` parameters, and a
    //! reorg made with `evm_snapshot` / `evm_revert`.

    use super::*;
    use alloy::primitives::{Address, B256, U256};
    use pact_bindings::{escrow::PactEscrow, test_usdt::TestUSDT};
    use pact_indexer::{
        decode::{ContractKind, Contracts},
        follower::{Follower, FollowerConfig},
        store::Store,
    };
    use pact_testkit::{
        AnvilApi, TestChain,
        deploy::{EscrowParams, Market},
    };
    use std::time::Duration;

    const PAYER: usize = 1;
    const RIVAL_PAYER: usize = 3;

    /// Funds `order` from anvil account `payer` (the wallet its buyer bound: the id's namespace).
    async fn fund(
        chain: &TestChain,
        escrow: Address,
        order: &Value,
        payer: usize,
    ) -> eyre::Result<()> {
        let f = &order["fund"];
        let s = |k: &str| f[k].as_str().unwrap().to_string();
        // A fresh provider: its receipt watcher must not remember blocks of a dropped branch.
        PactEscrow::new(escrow, chain.provider_for(payer))
            .fund(
                s("order_id").parse::<B256>()?,
                s("seller").parse::<Address>()?,
                s("amount").parse::<U256>()?,
                f["deliver_by"].as_u64().unwrap(),
                s("terms_hash").parse::<B256>()?,
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(())
    }

    #[tokio::test]
    async fn a_real_reorg_unfunds_the_order_through_the_indexer() -> eyre::Result<()> {
        let chain = pact_testkit::anvil(CHAIN as u64)?;
        let owner = chain.signer(0).address();
        let params = EscrowParams::standard(owner, owner, chain.signer(9).address());
        let market = Market::deploy(&chain.provider, &params).await?;
        let (usdt, escrow, deploy_block) = (
            TestUSDT::new(market.token, &chain.provider),
            PactEscrow::new(market.escrow, &chain.provider),
            market.deploy_block,
        );
        // Anvil's first two deployments are the token and escrow the API is configured with.
        assert_eq!(usdt.address().to_string().to_lowercase(), TOKEN);
        assert_eq!(escrow.address().to_string().to_lowercase(), ESCROW);
        for p in [PAYER, RIVAL_PAYER] {
            market
                .mint(
                    &chain.provider,
                    chain.signer(p).address(),
                    U256::from(1_000_000_000u64),
                )
                .await?;
            market.approve(&chain.provider_for(p), U256::MAX).await?;
        }

        let app = App::spawn().await;
        let mut contracts = Contracts::default();
        contracts.insert(*usdt.address(), ContractKind::Token);
        contracts.insert(
            *escrow.address(),
            ContractKind::Escrow {
                token: *usdt.address(),
                decimals: 6,
            },
        );
        let mut cfg = FollowerConfig::new(CHAIN as u64, chain.rpc_url(), contracts, deploy_block);
        cfg.poll_interval = Duration::from_millis(10);
        cfg.initial_range = 3;
        cfg.live_distance = 2;
        let follower = Follower::new(cfg, Store::from_pool(app.pool.clone()))?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let indexer = tokio::spawn(async move { follower.run(stopped).await });

        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let dave = app.register("dave").await;
        let (_, seller) = app.bind_wallet(&alice).await;
        app.bind_signer(&bob, &chain.signer(PAYER)).await;
        app.bind_signer(&dave, &chain.signer(RIVAL_PAYER)).await;
        let listing = app.listing(&alice, "offer", "Audit", "25").await;
        let won = negotiate(&app, listing, &bob).await;
        let rival = negotiate(&app, listing, &dave).await;
        let won_terms = agree(&app, &won, &alice, &bob, &seller.to_string()).await;
        let rival_terms = agree(&app, &rival, &alice, &dave, &seller.to_string()).await;

        let snap = chain.provider.anvil_snapshot().await?;
        fund(&chain, *escrow.address(), &won_terms, PAYER).await?;
        wait_state(&app, &won, &bob, "FUNDED").await;
        let (_, v) = app.get(&format!("/v1/orders/{won}"), Some(&bob)).await;
        assert_eq!(
            (v["state"].as_str(), v["terms_match"].as_bool()),
            (Some("ESCROWED"), Some(true))
        );
        wait_state(&app, &rival, &dave, "CANCELLED").await;

        // The block with the funding is replaced by a longer branch without it.
        assert!(chain.provider.anvil_revert(snap).await?);
        chain.provider.anvil_drop_all_transactions().await?;
        for _ in 0..3 {
            chain.provider.evm_mine(None).await?;
        }
        wait_state(&app, &won, &bob, "AWAITING_PAY").await;
        assert_eq!(state_of(&app, &won, &bob).await.1, "app");
        wait_state(&app, &rival, &dave, "AWAITING_PAY").await;
        let reorgs: i64 = sqlx::query_scalar("SELECT count(*) FROM reorgs")
            .fetch_one(&app.pool)
            .await?;
        assert!(reorgs >= 1, "the indexer saw no reorg");

        // On the new branch the rival's order is the one funded.
        fund(&chain, *escrow.address(), &rival_terms, RIVAL_PAYER).await?;
        wait_state(&app, &rival, &dave, "FUNDED").await;
        wait_state(&app, &won, &bob, "CANCELLED").await;

        stop.send(true)?;
        indexer.await??;
        Ok(())
    }
}
