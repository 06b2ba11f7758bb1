//! Escrow orders through every kind of ending, indexed by backfill and live: the projection of each
//! order equals what the contract's views say, and a reorg rebuilds it from the remaining events.

use crate::common::wait_synced;
use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
};
use pact_bindings::{escrow::PactEscrow, test_usdt::TestUSDT};
use pact_indexer::{
    decode::{ContractKind, Contracts},
    follower::{Follower, FollowerConfig},
    store::Store,
};
use pact_testkit::{
    AnvilApi, TestChain, TestDb,
    deploy::{self, EscrowParams},
};
use std::time::Duration;

use pact_bindings::escrow_enums::{ACTIONS, STATES};

const DAY: u64 = 86_400;

struct Market {
    chain: TestChain,
    escrow: Address,
    token: Address,
    deploy_block: u64,
    _db: TestDb,
    store: Store,
}

impl Market {
    async fn new() -> eyre::Result<Self> {
        let chain = pact_testkit::anvil(31337)?;
        let owner = chain.signer(0).address();
        let params = EscrowParams::standard(owner, owner, chain.signer(9).address());
        let market = deploy::Market::deploy(&chain.provider, &params).await?;
        for buyer in [1usize, 3] {
            let who = chain.signer(buyer).address();
            market
                .mint(&chain.provider, who, U256::from(1_000_000_000_000u64))
                .await?;
            market
                .approve(&chain.provider_for(buyer), U256::MAX)
                .await?;
        }
        let db = TestDb::new().await?;
        let store = Store::connect(&db.url).await?;
        Ok(Self {
            escrow: market.escrow,
            token: market.token,
            chain,
            deploy_block: market.deploy_block,
            _db: db,
            store,
        })
    }

    fn as_party(&self, i: usize) -> PactEscrow::PactEscrowInstance<DynProvider> {
        PactEscrow::new(self.escrow, self.chain.provider_for(i))
    }

    fn follower(&self) -> Follower {
        let mut contracts = Contracts::default();
        contracts.insert(self.token, ContractKind::Token);
        contracts.insert(
            self.escrow,
            ContractKind::Escrow {
                token: self.token,
                decimals: 6,
            },
        );
        let mut cfg =
            FollowerConfig::new(31337, self.chain.rpc_url(), contracts, self.deploy_block);
        cfg.poll_interval = Duration::from_millis(10);
        cfg.initial_range = 3;
        cfg.live_distance = 2;
        Follower::new(cfg, self.store.clone()).unwrap()
    }

    async fn now(&self) -> eyre::Result<u64> {
        Ok(self
            .chain
            .provider
            .get_block(alloy::eips::BlockId::latest())
            .await?
            .unwrap()
            .header
            .timestamp)
    }

    async fn warp(&self, secs: u64) -> eyre::Result<()> {
        self.chain.provider.anvil_increase_time(secs).await?;
        self.chain.provider.evm_mine(None).await?;
        Ok(())
    }

    async fn fund(&self, buyer: usize, n: u64, amount: u64) -> eyre::Result<B256> {
        let seller = self.chain.signer(2).address();
        let deliver_by = self.now().await? + 10 * DAY;
        let id = pact_bindings::order_id(self.chain.signer(buyer).address(), n.into());
        self.as_party(buyer)
            .fund(
                id,
                seller,
                U256::from(amount),
                deliver_by,
                keccak256(b"terms"),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(id)
    }

    /// Every projected order equals the contract's `getOrder` and `nextDeadline`.
    async fn assert_matches_contract(&self) -> eyre::Result<usize> {
        let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>, String, String, i32, i64, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT order_id, buyer, seller, amount::text, state, rejections, deliver_by, next_action, next_action_at
             FROM escrow_orders ORDER BY order_id",
        )
        .fetch_all(self.store.pool())
        .await?;
        let escrow = PactEscrow::new(self.escrow, &self.chain.provider);
        for (order_id, buyer, seller, amount, state, rejections, deliver_by, next, next_at) in &rows
        {
            let oid = B256::from_slice(order_id);
            let o = escrow.getOrder(oid).call().await?;
            assert_eq!(STATES[o.state as usize], state, "state of {oid}");
            assert_eq!(o.buyer.as_slice(), buyer.as_slice());
            assert_eq!(o.seller.as_slice(), seller.as_slice());
            assert_eq!(U256::from(o.amount).to_string(), *amount);
            assert_eq!(o.rejections as i32, *rejections);
            assert_eq!(o.deliverBy as i64, *deliver_by);
            let d = escrow.nextDeadline(oid).call().await?;
            let action = ACTIONS[d.action as usize];
            assert_eq!(
                next.as_deref().unwrap_or("NONE"),
                action,
                "next action of {oid}"
            );
            assert_eq!(
                next_at.unwrap_or(0) as u64,
                d.at,
                "next action time of {oid}"
            );
        }
        Ok(rows.len())
    }
}

#[tokio::test]
async fn every_order_matches_the_contract_after_backfill_and_live() -> eyre::Result<()> {
    let m = Market::new().await?;
    let (buyer, seller, arbiter) = (1, 2, 0);
    // The indexer's rule for the disputing rejection uses the bindings' constant: it is the
    // deployed contract's.
    assert_eq!(
        PactEscrow::new(m.escrow, &m.chain.provider)
            .MAX_REJECTIONS()
            .call()
            .await?,
        pact_bindings::escrow_enums::MAX_REJECTIONS
    );

    // Before the indexer starts (backfill): a happy path, a cancel, an open dispute.
    let happy = m.fund(buyer, 1, 100_000_000).await?;
    m.as_party(seller)
        .submitProof(happy, keccak256(b"proof"), "ipfs://proof".into())
        .send()
        .await?
        .get_receipt()
        .await?;
    m.as_party(buyer)
        .accept(happy)
        .send()
        .await?
        .get_receipt()
        .await?;
    let cancelled = m.fund(3, 2, 5_000_000).await?;
    m.as_party(3)
        .cancel(cancelled)
        .send()
        .await?
        .get_receipt()
        .await?;
    let disputed = m.fund(buyer, 3, 7_000_000).await?;
    m.as_party(seller)
        .startDelivery(disputed)
        .send()
        .await?
        .get_receipt()
        .await?;
    m.as_party(buyer)
        .dispute(disputed, keccak256(b"evidence"))
        .send()
        .await?
        .get_receipt()
        .await?;

    let stop = crate::common::spawn(m.follower());
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    assert_eq!(m.assert_matches_contract().await?, 3);

    // Live: three rejections into a dispute and an arbiter ruling; the automatic steps.
    let rejected = m.fund(buyer, 4, 9_000_000).await?;
    for i in 0..3 {
        m.as_party(seller)
            .submitProof(rejected, keccak256([i]), format!("ipfs://{i}"))
            .send()
            .await?
            .get_receipt()
            .await?;
        m.as_party(buyer)
            .reject(rejected, keccak256(b"no"))
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    m.as_party(arbiter)
        .resolve(rejected, 7_000)
        .send()
        .await?
        .get_receipt()
        .await?;
    let auto = m.fund(3, 5, 11_000_000).await?;
    m.as_party(seller)
        .submitProofHash(auto, keccak256(b"p"))
        .send()
        .await?
        .get_receipt()
        .await?;
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    assert_eq!(m.assert_matches_contract().await?, 5);

    m.warp(3 * DAY).await?;
    m.as_party(5)
        .advance(auto)
        .send()
        .await?
        .get_receipt()
        .await?; // -> REVIEWING
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    m.assert_matches_contract().await?;
    m.warp(3 * DAY).await?;
    m.as_party(5)
        .advanceMany(vec![auto, disputed])
        .send()
        .await?
        .get_receipt()
        .await?; // -> COMPLETED; dispute not due yet
    m.warp(7 * DAY).await?;
    m.as_party(6)
        .advance(disputed)
        .send()
        .await?
        .get_receipt()
        .await?; // default ruling
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    m.assert_matches_contract().await?;

    let finals: Vec<(String, Option<String>, String, String, String)> = sqlx::query_as(
        "SELECT state, resolution, buyer_paid::text, seller_paid::text, fee_paid::text FROM escrow_orders ORDER BY funded_block",
    )
    .fetch_all(m.store.pool())
    .await?;
    let states: Vec<&str> = finals.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        states,
        ["COMPLETED", "REFUNDED", "RESOLVED", "RESOLVED", "COMPLETED"]
    );
    assert_eq!(finals[2].1.as_deref(), Some("DEFAULT_RULING"));
    assert_eq!(finals[3].1.as_deref(), Some("ARBITER"));
    // Money adds up for every order: buyer out + seller out + fee = funded.
    let unbalanced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM escrow_orders WHERE buyer_paid + seller_paid + fee_paid <> amount",
    )
    .fetch_one(m.store.pool())
    .await?;
    assert_eq!(unbalanced, 0);
    // The audit trail: one transition row per state change of the rejected order.
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT state_after FROM escrow_events WHERE order_id = $1 AND state_after IS NOT NULL ORDER BY block_number, log_index",
    )
    .bind(rejected.as_slice())
    .fetch_all(m.store.pool())
    .await?;
    assert_eq!(
        trail,
        [
            "ESCROWED",
            "PROOF_SUBMITTED",
            "DELIVERING",
            "PROOF_SUBMITTED",
            "DELIVERING",
            "PROOF_SUBMITTED",
            "DISPUTED",
            "RESOLVED"
        ]
    );
    // Every transition row names who acted; `ProofSubmitted` (seller-only, no actor field) names
    // the order's seller.
    let unnamed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM escrow_events WHERE state_after IS NOT NULL AND actor IS NULL",
    )
    .fetch_one(m.store.pool())
    .await?;
    assert_eq!(unnamed, 0);
    let provers: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT DISTINCT e.actor FROM escrow_events e JOIN escrow_orders o USING (chain_id, escrow, order_id)
         WHERE e.event = 'ProofSubmitted' AND e.actor <> o.seller",
    )
    .fetch_all(m.store.pool())
    .await?;
    assert!(provers.is_empty(), "proofs attributed to non-sellers");
    // A proof with a URI keeps it; a hash-only proof (`submitProofHash`) has the hash and no URI.
    let proofs: Vec<(Vec<u8>, Option<Vec<u8>>, Option<String>)> = sqlx::query_as(
        "SELECT order_id, proof_hash, proof_uri FROM escrow_orders WHERE order_id = ANY($1) ORDER BY funded_block",
    )
    .bind(vec![happy.to_vec(), auto.to_vec()])
    .fetch_all(m.store.pool())
    .await?;
    assert_eq!(
        proofs,
        [
            (
                happy.to_vec(),
                Some(keccak256(b"proof").to_vec()),
                Some("ipfs://proof".to_string())
            ),
            (auto.to_vec(), Some(keccak256(b"p").to_vec()), None),
        ]
    );
    stop.send(true)?;
    Ok(())
}

#[tokio::test]
async fn a_reorg_rebuilds_order_projections_from_the_remaining_events() -> eyre::Result<()> {
    let m = Market::new().await?;
    let order = m.fund(1, 1, 50_000_000).await?;
    m.as_party(2)
        .submitProof(order, keccak256(b"proof"), "ipfs://x".into())
        .send()
        .await?
        .get_receipt()
        .await?;
    let stop = crate::common::spawn(m.follower());
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;

    let snap = m.chain.provider.anvil_snapshot().await?;
    m.as_party(1)
        .accept(order)
        .send()
        .await?
        .get_receipt()
        .await?; // branch A: COMPLETED
    let other = m.fund(3, 2, 1_000_000).await?; // and a second order, only on branch A
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    assert_eq!(m.assert_matches_contract().await?, 2);

    assert!(m.chain.provider.anvil_revert(snap).await?);
    m.chain.provider.anvil_drop_all_transactions().await?;
    m.as_party(1)
        .reject(order, keccak256(b"bad"))
        .send()
        .await?
        .get_receipt()
        .await?; // branch B: DELIVERING
    m.warp(1).await?;
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    assert_eq!(
        m.assert_matches_contract().await?,
        1,
        "the order funded only on branch A is gone"
    );
    let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM escrow_events WHERE order_id = $1")
        .bind(other.as_slice())
        .fetch_one(m.store.pool())
        .await?;
    assert_eq!(gone, 0);
    let state: String = sqlx::query_scalar("SELECT state FROM escrow_orders")
        .fetch_one(m.store.pool())
        .await?;
    assert_eq!(state, "DELIVERING");
    stop.send(true)?;
    Ok(())
}

/// USDT's fee switch turned on between funding and payout: the payout events state what the escrow
/// sent, `escrow_payout_receipts` (the token's own `Transfer` logs of the same transaction) what
/// each recipient received. Two orders completed by one `advanceMany` (same seller, one
/// transaction) each get exactly their own transfers; a split pays two recipients.
#[tokio::test]
async fn payouts_record_what_the_token_actually_credited() -> eyre::Result<()> {
    let m = Market::new().await?;
    let (buyer, seller, arbiter) = (1, 2, 0);
    let stop = crate::common::spawn(m.follower());
    let a = m.fund(buyer, 1, 100_000_000).await?;
    let b = m.fund(buyer, 2, 50_000_000).await?;
    let split = m.fund(buyer, 3, 20_000_000).await?;
    for id in [a, b, split] {
        m.as_party(seller)
            .submitProofHash(id, keccak256(id))
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    m.as_party(buyer)
        .dispute(split, keccak256(b"evidence"))
        .send()
        .await?
        .get_receipt()
        .await?;
    // The token's owner (anvil account 0, its deployer) turns the fee on: 19 bps, at most 49 USDT.
    TestUSDT::new(m.token, m.chain.provider_for(0))
        .setParams(U256::from(19), U256::from(49))
        .send()
        .await?
        .get_receipt()
        .await?;
    m.warp(6 * DAY + 1).await?;
    m.as_party(5)
        .advanceMany(vec![a, b])
        .send()
        .await?
        .get_receipt()
        .await?;
    m.as_party(arbiter)
        .resolve(split, 2_500)
        .send()
        .await?
        .get_receipt()
        .await?;
    wait_synced(&m.chain, &m.store, Duration::from_secs(20)).await?;
    stop.send(true)?;

    let token_fee = |sent: u64| (sent * 19 / 10_000).min(49_000_000);
    let received = |id: B256, who: usize| {
        let pool = m.store.pool().clone();
        let addr = m.chain.signer(who).address();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT received::text FROM escrow_payout_receipts WHERE order_id = $1 AND recipient = $2",
            )
            .bind(id.as_slice())
            .bind(addr.as_slice())
            .fetch_one(&pool)
            .await
        }
    };
    for (id, amount) in [(a, 100_000_000u64), (b, 50_000_000)] {
        let sent: String =
            sqlx::query_scalar("SELECT seller_paid::text FROM escrow_orders WHERE order_id = $1")
                .bind(id.as_slice())
                .fetch_one(m.store.pool())
                .await?;
        let net = amount - amount / 100; // the escrow's 1 % fee
        assert_eq!(sent, net.to_string(), "the event: what the escrow sent");
        assert_eq!(
            received(id, seller).await?,
            (net - token_fee(net)).to_string(),
            "the Transfer log: what the seller received"
        );
    }
    // The split: the buyer gets 75 %, the seller 25 % minus the escrow's fee, each minus the token's.
    let (to_buyer, gross) = (15_000_000u64, 5_000_000u64);
    let to_seller = gross - gross / 100;
    assert_eq!(
        received(split, buyer).await?,
        (to_buyer - token_fee(to_buyer)).to_string()
    );
    assert_eq!(
        received(split, seller).await?,
        (to_seller - token_fee(to_seller)).to_string()
    );
    // The token's fee recipient (its owner) received the rest of every transfer.
    let fees: String = sqlx::query_scalar(
        "SELECT sum(received)::text FROM escrow_payout_receipts WHERE recipient = $1",
    )
    .bind(m.chain.signer(0).address().as_slice())
    .fetch_one(m.store.pool())
    .await?;
    let all = [99_000_000u64, 49_500_000, to_buyer, to_seller];
    assert_eq!(
        fees,
        all.iter().map(|s| token_fee(*s)).sum::<u64>().to_string()
    );
    Ok(())
}
