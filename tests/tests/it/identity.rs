//! Identity propagation through real processes with signers down: a home and a satellite anvil,
//! the identity registries on the home chain, the three Lites on the satellite configured with six
//! signers and threshold 4, but only five `pact-relayer signer` daemons ever start; one of them is
//! killed with SIGKILL mid-run, so later batches land with exactly the threshold. An identity
//! registered, re-walleted and suspended on the home chain shows on the satellite's IdentityLite,
//! in the indexer's Lite mirror tables and on the agent's API profile.

use crate::stack::{BUYER, OWNER, Opts, SAT_ID, Stack, tx};
use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use pact_bindings::{identity_lite::IdentityLite, identity_registry::IdentityRegistry};
use serde_json::Value;
use std::{collections::BTreeSet, time::Duration};

/// (owner, wallet, entity type, status) of `id` on the home registry.
async fn home_record(s: &Stack, id: B256) -> eyre::Result<(Address, Address, u8, u8)> {
    let reg = s.identity.unwrap().registry;
    let h = IdentityRegistry::new(reg, s.home.provider.clone())
        .identityOf(id)
        .call()
        .await?;
    Ok((h.owner, h.wallet, h.entityType, h.status))
}

/// The same on the satellite's IdentityLite (None while never mirrored).
async fn lite_record(s: &Stack, id: B256) -> Option<(Address, Address, u8, u8)> {
    let lite = s.identity?.identity_lite;
    let sat = s.sat.as_ref()?.provider.clone();
    let l = IdentityLite::new(lite, sat)
        .identity(id)
        .call()
        .await
        .ok()?;
    Some((l.owner, l.wallet, l.entityType, l.status))
}

/// The same in the indexer's `lite_identities` mirror (None while absent).
async fn mirror_record(s: &Stack, id: B256) -> Option<(Address, Address, u8, u8)> {
    let lite = s.identity?.identity_lite;
    let row: (Vec<u8>, Vec<u8>, i16, i16) = sqlx::query_as(
        "SELECT owner, wallet, entity_type, status FROM lite_identities
         WHERE chain_id = $1 AND lite = $2 AND id = $3",
    )
    .bind(SAT_ID as i64)
    .bind(lite.as_slice())
    .bind(id.as_slice())
    .fetch_optional(&s.pool)
    .await
    .ok()??;
    Some((
        Address::from_slice(&row.0),
        Address::from_slice(&row.1),
        row.2 as u8,
        row.3 as u8,
    ))
}

/// The wallet's signature binding it to `id` of `owner` (registry EIP-712 digest).
async fn binding(
    s: &Stack,
    id: B256,
    owner: Address,
    wallet: &PrivateKeySigner,
) -> eyre::Result<Bytes> {
    let reg = IdentityRegistry::new(s.identity.unwrap().registry, s.home.provider.clone());
    let digest = reg
        .walletBindingDigest(id, owner, wallet.address(), U256::ZERO, U256::MAX)
        .call()
        .await?;
    Ok(Bytes::from(
        wallet.sign_hash_sync(&digest)?.as_bytes().to_vec(),
    ))
}

/// Waits until the Lite and the indexer's mirror both equal the home record of `id`.
async fn propagated(s: &Stack, id: B256, what: &str) -> eyre::Result<(Address, Address, u8, u8)> {
    let home = home_record(s, id).await?;
    // Two confirmations on the home chain make the update final for the signer daemons.
    s.mine_home(3).await?;
    s.wait(
        &format!("{what} on the satellite's IdentityLite"),
        Duration::from_secs(40),
        || async move { (lite_record(s, id).await == Some(home)).then_some(()) },
    )
    .await?;
    s.wait(
        &format!("{what} in the indexer's lite_identities"),
        Duration::from_secs(20),
        || async move { (mirror_record(s, id).await == Some(home)).then_some(()) },
    )
    .await?;
    Ok(home)
}

/// The agent profile's identities as (source, chain id, wallet, status).
async fn profile(s: &Stack, handle: &str) -> eyre::Result<BTreeSet<(String, i64, String, String)>> {
    let (code, v) = s.api.get(&format!("/v1/agents/{handle}")).await?;
    eyre::ensure!(code == 200, "{v}");
    Ok(v["identities"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i: &Value| {
            (
                i["source"].as_str().unwrap_or_default().to_string(),
                i["chain_id"].as_i64().unwrap_or_default(),
                i["wallet"].as_str().unwrap_or_default().to_lowercase(),
                i["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

#[tokio::test]
async fn identity_reaches_the_satellite_lite_with_signers_down() -> eyre::Result<()> {
    // Six signers configured on the Lites, threshold 4; daemons 0..4 run, daemon 5 never does.
    let mut s = Stack::up(Opts {
        name: "identity",
        indexer: true,
        keeper: false,
        api: true,
        satellite: true,
        signers: 5,
        relay: true,
    })
    .await?;
    let ids = s.identity.unwrap();
    let owner = s.addr(BUYER);
    let op = s.hp(BUYER);
    let reg = IdentityRegistry::new(ids.registry, op.clone());

    // An agent on the API binds the wallet its on-chain identity will use.
    let wallet = PrivateKeySigner::random();
    let (key, _) = s.api.register("mirror-bot", None).await?;
    s.api.bind(&key, &wallet).await?;

    // Registered on the home chain → mirrored on the satellite.
    let salt = keccak256("mirror-bot");
    let id = reg.computeId(owner, salt).call().await?;
    let sig = binding(&s, id, owner, &wallet).await?;
    tx!(
        op,
        reg.register(salt, 1, wallet.address(), B256::ZERO, U256::MAX, sig)
    );
    let rec = propagated(&s, id, "the registration").await?;
    assert_eq!(rec, (owner, wallet.address(), 1, 1), "agent, ACTIVE");
    let w1 = format!("{:#x}", wallet.address());
    let shown = profile(&s, "mirror-bot").await?;
    for want in [
        (
            "registry".to_string(),
            31337,
            w1.clone(),
            "ACTIVE".to_string(),
        ),
        (
            "lite".to_string(),
            SAT_ID as i64,
            w1.clone(),
            "ACTIVE".to_string(),
        ),
    ] {
        assert!(shown.contains(&want), "{want:?} in {shown:?}");
    }

    // One more daemon dies (SIGKILL): four left, exactly the threshold. The identity moves to
    // a new wallet and is suspended; both updates still reach the satellite.
    let killed = s.signer_keys[0].address();
    s.kill("signer-0")?;
    let wallet2 = PrivateKeySigner::random();
    s.api.bind(&key, &wallet2).await?;
    let sig = binding(&s, id, owner, &wallet2).await?;
    tx!(op, reg.setWallet(id, wallet2.address(), U256::MAX, sig));
    let admin = s.hp(OWNER);
    tx!(
        admin,
        IdentityRegistry::new(ids.registry, admin.clone()).suspend(id)
    );
    let after_kill: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(sequence), 0) FROM relayer_signatures WHERE lite = $1",
    )
    .bind(ids.identity_lite.as_slice())
    .fetch_one(&s.pool)
    .await?;
    let rec = propagated(&s, id, "the new wallet and the suspension").await?;
    assert_eq!(rec, (owner, wallet2.address(), 1, 2), "SUSPENDED");
    let w2 = format!("{:#x}", wallet2.address());
    let shown = profile(&s, "mirror-bot").await?;
    for want in [
        (
            "registry".to_string(),
            31337,
            w2.clone(),
            "SUSPENDED".to_string(),
        ),
        (
            "lite".to_string(),
            SAT_ID as i64,
            w2.clone(),
            "SUSPENDED".to_string(),
        ),
    ] {
        assert!(shown.contains(&want), "{want:?} in {shown:?}");
    }
    assert!(
        !shown.iter().any(|(_, _, w, _)| *w == w1),
        "the old wallet is no longer the identity's: {shown:?}"
    );

    // The batches after the kill carry signatures of the four live daemons only; the daemon
    // that never ran signed nothing.
    let lite = IdentityLite::new(ids.identity_lite, s.sat.as_ref().unwrap().provider.clone());
    let last = lite.watermark().call().await?.lastSequence;
    assert!(last as i64 > after_kill, "a batch landed after the kill");
    let signers: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT DISTINCT signer FROM relayer_signatures WHERE lite = $1 AND sequence = $2",
    )
    .bind(ids.identity_lite.as_slice())
    .bind(last as i64)
    .fetch_all(&s.pool)
    .await?;
    let signers: BTreeSet<Address> = signers.iter().map(|a| Address::from_slice(a)).collect();
    let live: BTreeSet<Address> = s.signer_keys[1..5].iter().map(|k| k.address()).collect();
    assert_eq!(signers, live, "the last batch is signed by daemons 1..4");
    let never = s.signer_keys[5].address();
    let by_never: i64 =
        sqlx::query_scalar("SELECT count(*) FROM relayer_signatures WHERE signer = $1")
            .bind(never.as_slice())
            .fetch_one(&s.pool)
            .await?;
    assert_eq!(by_never, 0);
    assert!(!signers.contains(&killed));
    // The indexer's Lite row agrees with the contract's watermark.
    let mirrored: i64 =
        sqlx::query_scalar("SELECT last_sequence FROM lites WHERE chain_id = $1 AND lite = $2")
            .bind(SAT_ID as i64)
            .bind(ids.identity_lite.as_slice())
            .fetch_one(&s.pool)
            .await?;
    assert_eq!(mirrored, last as i64);
    Ok(())
}
