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

use pact_bindings::escrow_enums::{ACTIONS, Action, DeadlineInputs, STATES, State, next_deadline};

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

/// `PactEscrow`'s `_orders` mapping is storage slot 4 (after `Ownable`'s owner, `Ownable2Step`'s
/// pending owner and `EIP712`'s two fallback strings; the contract documents `_hot` as slot 5). An
/// order is two words (the contract's "Gas layout"): `buyer | amount << 160`, then `seller |
/// deliverBy << 160 | stateSince << 192 | state << 224 | rejections << 232 | configId << 240`.
/// [`Market::stored_inputs`] checks the layout against `getOrder` on every read.
const ORDERS_SLOT: u64 = 4;

/// One step of the random walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Warp,
    Fund,
    Config,
    AdvanceAll,
    Act,
}

/// What one comparison of the Rust port with the contract saw.
struct Compared {
    stored: State,
    action: Action,
    /// The stored state lags the clock (PROOF_SUBMITTED in storage, REVIEWING or COMPLETED in
    /// `getOrder`): the case where the port must follow storage, not `getOrder`.
    lagging: bool,
}

impl Market {
    /// The inputs of `nextDeadline` as the contract holds them: the order's stored words (not
    /// `getOrder`, which applies the clock) and its settings snapshot.
    async fn stored_inputs(&self, id: B256) -> eyre::Result<(DeadlineInputs, State)> {
        let p = &self.chain.provider;
        let escrow = PactEscrow::new(self.escrow, p);
        let slot = U256::from_be_bytes(
            keccak256([id.as_slice(), &U256::from(ORDERS_SLOT).to_be_bytes::<32>()].concat()).0,
        );
        let a = p.get_storage_at(self.escrow, slot).await?;
        let b = p.get_storage_at(self.escrow, slot + U256::from(1)).await?;
        let bits = |w: U256, shift: usize, width: usize| -> u64 {
            ((w >> shift) & ((U256::from(1) << width) - U256::from(1))).to::<u64>()
        };
        let address = |w: U256| Address::from_slice(&w.to_be_bytes::<32>()[12..]);
        let shown = escrow.getOrder(id).call().await?;
        eyre::ensure!(
            address(a) == shown.buyer
                && a >> 160 == U256::from(shown.amount)
                && address(b) == shown.seller
                && bits(b, 160, 32) == shown.deliverBy as u64
                && bits(b, 240, 16) == shown.configId as u64,
            "order {id}: storage words {a:#x}, {b:#x} are not the layout of {shown:?}"
        );
        let state = State::try_from(bits(b, 224, 8) as u8)?;
        let config = escrow.config(shown.configId).call().await?;
        let inputs = DeadlineInputs {
            state,
            deliver_by: bits(b, 160, 32),
            state_since: bits(b, 192, 32),
            review_window: config.reviewWindow.into(),
            arbiter_window: config.arbiterWindow.into(),
        };
        Ok((inputs, State::try_from(shown.state)?))
    }

    /// `next_deadline` (the Rust port) over the stored order equals the contract's `nextDeadline`.
    async fn compare_next_deadline(&self, id: B256, context: &str) -> eyre::Result<Compared> {
        let (inputs, shown) = self.stored_inputs(id).await?;
        let d = PactEscrow::new(self.escrow, &self.chain.provider)
            .nextDeadline(id)
            .call()
            .await?;
        let contract = (Action::try_from(d.action)?, d.at);
        assert_eq!(
            next_deadline(inputs),
            contract,
            "{context}: next_deadline({inputs:?}) differs from PactEscrow.nextDeadline({id})"
        );
        Ok(Compared {
            stored: inputs.state,
            action: contract.0,
            lagging: inputs.state == State::PROOF_SUBMITTED && shown != inputs.state,
        })
    }
}

/// Sends a contract call: `Ok(true)` when mined, `Ok(false)` when the escrow refuses it (a revert
/// at estimation: nothing is sent), any other failure is an error.
macro_rules! attempt {
    ($call:expr) => {
        match $call.send().await {
            Ok(pending) => {
                let receipt = pending.get_receipt().await?;
                eyre::ensure!(receipt.status(), "mined but reverted: {receipt:?}");
                true
            }
            Err(e) if e.as_revert_data().is_some() => false,
            Err(e) => return Err(e.into()),
        }
    };
}

/// A random walk of orders through the escrow's lifecycle (funding, every party's actions, the
/// automatic steps, settings snapshots with other windows, time warps up to and across the
/// deadlines): after every change, the Rust port `pact_bindings::escrow_enums::next_deadline`
/// over the order as stored equals the deployed contract's `nextDeadline`, and at the end the
/// indexer's projection (which uses the port) mirrors the stored orders and the contract's views.
/// Seeded (`PACT_WALK_SEED` overrides the pinned seed); the walk takes at least 300 steps and goes
/// on (to at most 1000) until it has reached every stored state and every action, including a
/// review started by the clock but not yet written.
#[tokio::test]
async fn next_deadline_port_equals_the_contract_over_random_walks() -> eyre::Result<()> {
    use pact_bindings::sol_enum::SolEnumNames;
    use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
    use std::collections::BTreeSet;

    // At least STEPS steps, then on until the walk has covered the rule (at most MAX_STEPS).
    const STEPS: usize = 300;
    const MAX_STEPS: usize = 1_000;
    let seed: u64 = match std::env::var("PACT_WALK_SEED") {
        Ok(s) => s.parse()?,
        Err(_) => 0x5eed_0016,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let m = Market::new().await?;
    let (owner, arbiter, seller, anyone) = (0usize, 0usize, 2usize, 5usize);
    let escrow = |who: usize| m.as_party(who);
    let mut orders: Vec<(B256, usize)> = Vec::new(); // (order id, buyer)
    let (mut landed, mut refused) = (0usize, 0usize);
    let mut stored_states = BTreeSet::new();
    let mut actions = BTreeSet::new();
    let mut lagging = 0usize;
    // Each order's stored state at its last comparison (a stored terminal state never changes).
    let mut last_stored: std::collections::HashMap<B256, State> = Default::default();

    let mut steps = 0;
    for step in 0..MAX_STEPS {
        let covered = stored_states.len() == State::names().len() - 1
            && actions.len() == Action::names().len()
            && lagging > 0;
        if step >= STEPS && covered {
            break;
        }
        steps += 1;
        let open: Vec<(B256, usize, State)> = {
            let mut open = Vec::new();
            for &(id, buyer) in &orders {
                let shown = State::try_from(escrow(anyone).getOrder(id).call().await?.state)?;
                if !shown.is_terminal() {
                    open.push((id, buyer, shown));
                }
            }
            open
        };
        let can_fund = open.len() < 5 && orders.len() < 80;
        let step_kind = match rng.gen_range(0..100) {
            _ if orders.is_empty() => Step::Fund,
            0..28 => Step::Warp,
            28..40 if can_fund => Step::Fund,
            40..43 => Step::Config,
            43..47 => Step::AdvanceAll,
            _ => Step::Act,
        };
        let mut touched: Vec<B256> = Vec::new();
        let ok = if step_kind == Step::Warp {
            // Time passes: a fixed span, or to just before / at / just after an order's deadline.
            let now = m.now().await?;
            let mut secs = *[1u64, 60, 3_600, DAY, 3 * DAY, 8 * DAY]
                .choose(&mut rng)
                .unwrap();
            if let Some(&(id, _, _)) = open.choose(&mut rng).filter(|_| rng.gen_bool(0.6)) {
                let d = escrow(anyone).nextDeadline(id).call().await?;
                let target = d.at as i64 + rng.gen_range(-1i64..=1);
                if d.at != 0 && target > now as i64 {
                    secs = target as u64 - now;
                }
            }
            m.warp(secs).await?;
            // Storage did not change, so neither side may: and a review the clock just started
            // is the lagging case.
            for &(id, _) in &orders {
                if last_stored.get(&id).is_some_and(|s| s.is_terminal()) {
                    continue;
                }
                let c = m
                    .compare_next_deadline(id, &format!("seed {seed}, step {step} (warp)"))
                    .await?;
                lagging += c.lagging as usize;
            }
            continue;
        } else if step_kind == Step::Fund {
            let buyer = *[1usize, 3].choose(&mut rng).unwrap();
            let deliver_by = m.now().await? + rng.gen_range(60..5 * DAY);
            let id = pact_bindings::order_id(
                m.chain.signer(buyer).address(),
                (orders.len() as u64 + 1).into(),
            );
            let amount = U256::from(rng.gen_range(1..100_000_000u64));
            let funded = attempt!(escrow(buyer).fund(
                id,
                m.chain.signer(seller).address(),
                amount,
                deliver_by,
                keccak256(b"terms"),
            ));
            if funded {
                orders.push((id, buyer));
                touched.push(id);
            }
            funded
        } else if step_kind == Step::Config {
            attempt!(escrow(owner).setConfig(
                rng.gen_range(0..=1_000),
                rng.gen_range(60..4 * DAY as u32),
                rng.gen_range(60..8 * DAY as u32),
                rng.gen_range(0..=10_000),
            ))
        } else if step_kind == Step::AdvanceAll {
            touched = orders.iter().map(|o| o.0).collect();
            attempt!(escrow(anyone).advanceMany(touched.clone()))
        } else {
            // An action on an order: one its (derived) state allows, or any (mostly refused).
            let (id, buyer) = match open.choose(&mut rng).filter(|_| rng.gen_bool(0.9)) {
                Some(&(id, buyer, _)) => (id, buyer),
                None => *orders.choose(&mut rng).unwrap(),
            };
            let shown = State::try_from(escrow(anyone).getOrder(id).call().await?.state)?;
            let party = *[buyer, seller].choose(&mut rng).unwrap();
            let bps: u16 = rng.gen_range(0..=10_000);
            let choices: &[u8] = match shown {
                State::ESCROWED => &[0, 1, 2, 9, 10, 11],
                State::DELIVERING => &[1, 2, 6, 10, 11],
                State::PROOF_SUBMITTED => &[3, 3, 3, 4, 5, 6, 10, 11],
                State::REVIEWING => &[4, 5, 5, 6, 11, 11],
                State::DISPUTED => &[7, 7, 8, 8, 8, 10, 11],
                _ => &[0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            };
            touched.push(id);
            let e = |who: usize| escrow(who);
            match *choices.choose(&mut rng).unwrap() {
                0 => attempt!(e(seller).startDelivery(id)),
                1 => attempt!(e(seller).submitProof(id, keccak256(id), format!("ipfs://{step}"))),
                2 => attempt!(e(seller).submitProofHash(id, keccak256([step as u8]))),
                3 => attempt!(e(buyer).startReview(id)),
                4 => attempt!(e(buyer).accept(id)),
                5 => attempt!(e(buyer).reject(id, keccak256(b"no"))),
                6 => attempt!(e(party).dispute(id, keccak256(b"evidence"))),
                7 => attempt!(e(arbiter).resolve(id, bps)),
                8 => {
                    let pending = e(anyone).settlementOf(id).call().await?;
                    let proposer = pending.proposer;
                    if proposer != Address::ZERO && rng.gen_bool(0.6) {
                        let other = if proposer == m.chain.signer(buyer).address() {
                            seller
                        } else {
                            buyer
                        };
                        attempt!(e(other).acceptSettlement(id, pending.sellerBps))
                    } else {
                        attempt!(e(party).proposeSettlement(id, bps))
                    }
                }
                9 => attempt!(e(buyer).cancel(id)),
                10 => attempt!(e(seller).refund(id)),
                _ => attempt!(e(anyone).advance(id)),
            }
        };
        if ok {
            landed += 1;
        } else {
            refused += 1;
        }
        // The orders the step touched, and every 25 steps all of them (the view reads only
        // storage, so a time warp alone changes neither side).
        let check: Vec<B256> = if step % 25 == 0 {
            orders.iter().map(|o| o.0).collect()
        } else {
            touched
        };
        for id in check {
            let c = m
                .compare_next_deadline(id, &format!("seed {seed}, step {step}"))
                .await?;
            stored_states.insert(c.stored.name());
            actions.insert(c.action.name());
            lagging += c.lagging as usize;
            last_stored.insert(id, c.stored);
        }
    }
    for &(id, _) in &orders {
        m.compare_next_deadline(id, &format!("seed {seed}, end"))
            .await?;
    }
    eprintln!(
        "seed {seed}: {steps} steps, {} orders, {landed} transactions landed, {refused} refused, {lagging} lagging reviews seen",
        orders.len()
    );
    // The walk covered the whole rule: every stored state, every action, the lagging review.
    assert_eq!(
        stored_states,
        State::names()[1..].iter().copied().collect(),
        "seed {seed}: stored states reached"
    );
    assert_eq!(
        actions,
        Action::names().iter().copied().collect(),
        "seed {seed}: actions reported"
    );
    assert!(
        lagging > 0,
        "seed {seed}: no review started by the clock alone"
    );
    assert!(
        landed >= STEPS / 5,
        "seed {seed}: only {landed} transactions landed"
    );

    // The indexer's projection of the same walk mirrors the stored orders (its state is the stored
    // one, its next action the contract's)...
    let stop = crate::common::spawn(m.follower());
    wait_synced(&m.chain, &m.store, Duration::from_secs(60)).await?;
    let rows: Vec<(Vec<u8>, String, i64, i64, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT order_id, state, state_since, deliver_by, next_action, next_action_at FROM escrow_orders",
    )
    .fetch_all(m.store.pool())
    .await?;
    assert_eq!(rows.len(), orders.len());
    for (id, state, since, deliver_by, next, next_at) in rows {
        let id = B256::from_slice(&id);
        let (stored, _) = m.stored_inputs(id).await?;
        assert_eq!(
            (state.as_str(), since as u64, deliver_by as u64),
            (stored.state.name(), stored.state_since, stored.deliver_by),
            "seed {seed}: projection of {id}"
        );
        let (action, at) = next_deadline(stored);
        assert_eq!(
            (
                next.as_deref().unwrap_or("NONE"),
                next_at.unwrap_or(0) as u64
            ),
            (action.name(), at),
            "seed {seed}: next action of {id}"
        );
    }
    // ... and once every due step is written (no state lags the clock), equals `getOrder`.
    let all: Vec<B256> = orders.iter().map(|o| o.0).collect();
    attempt!(escrow(anyone).advanceMany(all));
    wait_synced(&m.chain, &m.store, Duration::from_secs(60)).await?;
    assert_eq!(m.assert_matches_contract().await?, orders.len());
    stop.send(true)?;
    Ok(())
}
