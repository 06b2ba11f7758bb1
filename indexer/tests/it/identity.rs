//! Identity contracts on a home chain and a satellite: the registries' projections equal the
//! contracts' views, Lite batches are mirrored from their calldata, and a satellite reorg rolls the
//! mirror back.

use crate::common::wait_synced;
use alloy::{
    primitives::{Address, B256, Bytes, U256, aliases::U96, keccak256},
    providers::DynProvider,
    signers::SignerSync,
};
use pact_bindings::{
    did_registry::DIDRegistry,
    identity_registry::IdentityRegistry,
    lite_update::{Update, pack},
    stake_registry::StakeRegistry,
    staking_lite::{ILiteBase::BatchHeader, StakingLite},
    test_usdt::TestUSDT,
};
use pact_indexer::{
    decode::{ContractKind, Contracts},
    follower::{Follower, FollowerConfig},
    identity::IdentityKind,
    store::Store,
};
use pact_testkit::{
    AnvilApi, TestChain, TestDb,
    deploy::{self, HomeIdentity, Lites},
};
use std::time::Duration;

fn follower(chain: &TestChain, store: &Store, contracts: Contracts) -> Follower {
    let mut cfg = FollowerConfig::new(chain.anvil.chain_id(), chain.rpc_url(), contracts, 0);
    cfg.poll_interval = Duration::from_millis(10);
    cfg.live_distance = 2;
    Follower::new(cfg, store.clone()).unwrap()
}

/// Signs `header` for `lite` with the four lowest-address signers of anvil keys 4..9.
async fn signed_batch(
    chain: &TestChain,
    lite: &StakingLite::StakingLiteInstance<DynProvider>,
    header: &BatchHeader,
) -> eyre::Result<Bytes> {
    let digest = lite.batchDigest(header.clone()).call().await?;
    let mut signers: Vec<_> = (4..10).map(|i| chain.signer(i)).collect();
    signers.sort_by_key(|s| s.address());
    let mut sigs = Vec::new();
    for s in signers.iter().take(4) {
        sigs.extend_from_slice(&s.sign_hash_sync(&digest)?.as_bytes());
    }
    Ok(sigs.into())
}

fn set_bond(cursor: u64, id: B256, amount: u64, unbonding: u64) -> Vec<u8> {
    pack(&[Update::SetBond {
        cursor,
        id,
        amount: U96::from(amount),
        unbonding: U96::from(unbonding),
    }])
    .to_vec()
}

#[tokio::test]
async fn home_registries_and_lite_batches_are_projected_and_reorgs_roll_back() -> eyre::Result<()> {
    let db = TestDb::new().await?;
    let store = Store::connect(&db.url).await?;

    // --- home chain: register, attributes, bond ---
    let home = pact_testkit::anvil(31337)?;
    let admin = home.signer(0).address();
    let token = TestUSDT::new(deploy::token(&home.provider).await?, &home.provider);
    let deployed = HomeIdentity::deploy(&home.provider, admin, *token.address(), 3600).await?;
    let registry = IdentityRegistry::new(deployed.registry, &home.provider);
    let dids = DIDRegistry::new(deployed.did_registry, &home.provider);
    let stakes = StakeRegistry::new(deployed.stake_registry, &home.provider);
    let (owner, wallet) = (home.signer(1), home.signer(2));
    let salt = keccak256(b"agent-1");
    let id = registry.computeId(owner.address(), salt).call().await?;
    let deadline = U256::from(u64::MAX);
    let nonce = registry.nonces(wallet.address()).call().await?;
    let digest = registry
        .walletBindingDigest(id, owner.address(), wallet.address(), nonce, deadline)
        .call()
        .await?;
    let sig = wallet.sign_hash_sync(&digest)?;
    let as_owner = IdentityRegistry::new(*registry.address(), home.provider_for(1));
    as_owner
        .register(
            salt,
            1,
            wallet.address(),
            keccak256(b"meta"),
            deadline,
            sig.as_bytes().to_vec().into(),
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    registry.suspend(id).send().await?.get_receipt().await?;
    registry.reinstate(id).send().await?.get_receipt().await?;
    let as_did = DIDRegistry::new(*dids.address(), home.provider_for(1));
    let short = keccak256(b"endpoint");
    let long = keccak256(b"bio");
    as_did
        .setAttribute(short, b"https://agent.example".to_vec().into(), 3600)
        .send()
        .await?
        .get_receipt()
        .await?;
    as_did
        .setAttribute(long, vec![7u8; 100].into(), 3600)
        .send()
        .await?
        .get_receipt()
        .await?;
    as_did
        .removeAttribute(short)
        .send()
        .await?
        .get_receipt()
        .await?;
    token
        .mint(owner.address(), U256::from(1_000_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    TestUSDT::new(*token.address(), home.provider_for(1))
        .approve(*stakes.address(), U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;
    let as_staker = StakeRegistry::new(*stakes.address(), home.provider_for(1));
    as_staker
        .bond(id, alloy::primitives::Uint::<96, 2>::from(500_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    as_staker
        .requestUnbond(id, alloy::primitives::Uint::<96, 2>::from(100_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    stakes
        .slash(
            id,
            alloy::primitives::Uint::<96, 2>::from(50_000_000u64),
            admin,
        )
        .send()
        .await?
        .get_receipt()
        .await?;

    let mut contracts = Contracts::default();
    contracts.insert(
        *registry.address(),
        ContractKind::Identity(IdentityKind::IdentityRegistry),
    );
    contracts.insert(
        *dids.address(),
        ContractKind::Identity(IdentityKind::DidRegistry),
    );
    contracts.insert(
        *stakes.address(),
        ContractKind::Identity(IdentityKind::StakeRegistry),
    );
    let stop_home = crate::common::spawn(follower(&home, &store, contracts));
    wait_synced(&home, &store, Duration::from_secs(20)).await?;

    let rec = registry.identityOf(id).call().await?;
    let (p_owner, p_wallet, p_type, p_status): (Vec<u8>, Vec<u8>, i16, String) =
        sqlx::query_as("SELECT owner, wallet, entity_type, status FROM identities WHERE id = $1")
            .bind(id.as_slice())
            .fetch_one(store.pool())
            .await?;
    assert_eq!(
        (p_owner.as_slice(), p_wallet.as_slice(), p_type),
        (
            rec.owner.as_slice(),
            rec.wallet.as_slice(),
            rec.entityType as i16
        )
    );
    assert_eq!((rec.status, p_status.as_str()), (1, "ACTIVE"));
    let attrs: Vec<(Vec<u8>, bool, i16, i32)> = sqlx::query_as(
        "SELECT name, removed, value_info, length(value) FROM did_attributes ORDER BY value_info",
    )
    .fetch_all(store.pool())
    .await?;
    assert_eq!(
        attrs,
        vec![
            (short.to_vec(), true, 21, 21),
            (long.to_vec(), false, 255, 100)
        ]
    );
    let bond = stakes.bondOf(id).call().await?;
    let (amount, unbonding): (String, String) =
        sqlx::query_as("SELECT amount::text, unbonding::text FROM stake_bonds WHERE id = $1")
            .bind(id.as_slice())
            .fetch_one(store.pool())
            .await?;
    assert_eq!(
        (amount, unbonding),
        (bond.amount.to_string(), bond.unbonding.to_string())
    );
    stop_home.send(true)?;

    // --- satellite: two batches on a StakingLite, then a reorg drops the second ---
    let sat = pact_testkit::anvil(31338)?;
    let signers: Vec<Address> = (4..10).map(|i| sat.signer(i).address()).collect();
    let lites = Lites::deploy(&sat.provider, 31337, signers, 4).await?;
    let lite = StakingLite::new(lites.staking, sat.provider.clone());
    let mut contracts = Contracts::default();
    contracts.insert(
        *lite.address(),
        ContractKind::Identity(IdentityKind::StakingLite),
    );
    let stop_sat = crate::common::spawn(follower(&sat, &store, contracts));

    let apply = |seq: u64, from: u64, to: u64, packed: Vec<u8>, count: u32| {
        let (sat, lite) = (&sat, &lite);
        async move {
            let header = BatchHeader {
                sourceChainId: U256::from(31337),
                signerSetId: 1,
                sequence: seq,
                fromCursor: from,
                toCursor: to,
                homeTimestamp: 1_000 + seq,
                count,
                updatesHash: keccak256(&packed),
            };
            let sigs = signed_batch(sat, lite, &header).await?;
            lite.applyBatch(header, packed.into(), sigs)
                .send()
                .await?
                .get_receipt()
                .await?;
            eyre::Ok(())
        }
    };
    let other = keccak256(b"agent-2");
    let mut first = set_bond(5 << 32, id, 450_000_000, 100_000_000);
    first.extend(set_bond((5 << 32) | 1, other, 1, 0));
    apply(1, 0, (5 << 32) | 0xffff_ffff, first, 2).await?;
    wait_synced(&sat, &store, Duration::from_secs(20)).await?;
    let snap = sat.provider.anvil_snapshot().await?;
    apply(
        2,
        (5 << 32) | 0xffff_ffff,
        (9 << 32) | 0xffff_ffff,
        set_bond(9 << 32, id, 7, 0),
        1,
    )
    .await?;
    wait_synced(&sat, &store, Duration::from_secs(20)).await?;

    let mirrored = |id: B256| {
        let pool = store.pool().clone();
        async move {
            let r: (String, String) = sqlx::query_as(
                "SELECT amount::text, unbonding::text FROM lite_bonds WHERE id = $1",
            )
            .bind(id.as_slice())
            .fetch_one(&pool)
            .await?;
            eyre::Ok(r)
        }
    };
    let on_chain = lite.bondOf(id).call().await?;
    assert_eq!(
        mirrored(id).await?,
        (on_chain.amount.to_string(), on_chain.unbonding.to_string())
    );
    assert_eq!(mirrored(id).await?.0, "7");
    let (seq, cursor): (i64, String) =
        sqlx::query_as("SELECT last_sequence, last_cursor::text FROM lites")
            .fetch_one(store.pool())
            .await?;
    assert_eq!((seq, cursor), (2, ((9u64 << 32) | 0xffff_ffff).to_string()));

    assert!(sat.provider.anvil_revert(snap).await?);
    sat.provider.anvil_drop_all_transactions().await?;
    sat.provider.evm_mine(None).await?;
    sat.provider.evm_mine(None).await?;
    wait_synced(&sat, &store, Duration::from_secs(20)).await?;
    assert_eq!(
        mirrored(id).await?,
        ("450000000".to_string(), "100000000".to_string()),
        "batch 2 rolled back"
    );
    assert_eq!(mirrored(other).await?.0, "1");
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM lite_batches")
        .fetch_one(store.pool())
        .await?;
    assert_eq!(batches, 1);
    // The home chain's projections are untouched by the satellite's reorg.
    let bonds: i64 = sqlx::query_scalar("SELECT count(*) FROM stake_bonds")
        .fetch_one(store.pool())
        .await?;
    assert_eq!(bonds, 1);
    stop_sat.send(true)?;
    Ok(())
}
