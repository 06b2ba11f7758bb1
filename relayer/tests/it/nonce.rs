//! The nonce manager: a stuck transaction is replaced with fees bumped by at least 10% and no
//! nonce gap; a sender killed mid-inclusion reconciles on restart and replaces its own stuck
//! transaction.

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
    sol_types::SolCall,
};
use pact_bindings::test_usdt::TestUSDT;
use pact_relayer::tx::{FeePolicy, TxSender};
use pact_testkit::AnvilApi;
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};

/// One anvil chain, a migrated database, a token to call and the sending account (#3).
struct Rig {
    _chain: pact_testkit::TestChain,
    _db: pact_testkit::TestDb,
    pool: PgPool,
    p: DynProvider,
    token: Address,
    key: alloy::signers::local::PrivateKeySigner,
}

impl Rig {
    async fn new() -> eyre::Result<Self> {
        let chain = pact_testkit::anvil(10)?;
        let db = pact_testkit::TestDb::new().await?;
        let pool = db.pool().await?;
        pact_relayer::MIGRATOR.run(&pool).await?;
        let p = chain.provider.clone();
        let token = pact_testkit::deploy::token(&p).await?;
        let key = chain.signer(3);
        Ok(Self {
            _chain: chain,
            _db: db,
            pool,
            p,
            token,
            key,
        })
    }
}

async fn automine(p: &DynProvider, on: bool) -> eyre::Result<()> {
    p.anvil_set_auto_mine(on).await?;
    Ok(())
}

async fn mine(p: &DynProvider) -> eyre::Result<()> {
    p.evm_mine(None).await?;
    Ok(())
}

fn approve(n: u64) -> Bytes {
    TestUSDT::approveCall {
        spender: Address::with_last_byte(n as u8),
        value: U256::from(n),
    }
    .abi_encode()
    .into()
}

async fn attempts(pool: &PgPool, nonce: i64) -> eyre::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT max_fee_per_gas::text, status FROM relayer_txs WHERE nonce = $1 ORDER BY id",
    )
    .bind(nonce)
    .fetch_all(pool)
    .await?)
}

fn policy() -> FeePolicy {
    FeePolicy {
        bump_after: Duration::from_millis(300),
        bump_percent: 15,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_transaction_is_bumped_at_least_10_percent_without_gaps() -> eyre::Result<()> {
    let Rig {
        _chain,
        _db,
        pool,
        p,
        token,
        key,
    } = Rig::new().await?;
    let sender = Arc::new(TxSender::new(p.clone(), key.clone(), pool.clone(), policy()).await?);

    automine(&p, false).await?;
    let s2 = sender.clone();
    let pending = tokio::spawn(async move { s2.send(token, approve(1), "test").await });
    tokio::time::sleep(Duration::from_millis(1300)).await;
    mine(&p).await?;
    let receipt = pending.await??;
    assert!(receipt.status());
    automine(&p, true).await?;

    let rows = attempts(&pool, 0).await?;
    assert!(rows.len() >= 3, "replaced at least twice: {rows:?}");
    let fees: Vec<u128> = rows.iter().map(|(f, _)| f.parse().unwrap()).collect();
    for w in fees.windows(2) {
        assert!(w[1] * 100 >= w[0] * 110, "bump below 10%: {fees:?}");
    }
    assert_eq!(rows.iter().filter(|(_, s)| s == "mined").count(), 1);
    // The others are marked replaced (the mined one is the latest or, if the block was mined
    // while a newer replacement was being broadcast, the one before).
    assert_eq!(
        rows.iter().filter(|(_, s)| s == "replaced").count(),
        rows.len() - 1
    );
    assert!(
        rows[rows.len().saturating_sub(2)..]
            .iter()
            .any(|(_, s)| s == "mined")
    );
    assert_eq!(p.get_transaction_count(key.address()).await?, 1);

    // The next transaction takes the next nonce: no gap.
    let r = sender.send(token, approve(2), "test").await?;
    assert!(r.status());
    assert_eq!(p.get_transaction_count(key.address()).await?, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_mid_inclusion_reconciles_on_restart() -> eyre::Result<()> {
    let Rig {
        _chain,
        _db,
        pool,
        p,
        token,
        key,
    } = Rig::new().await?;

    automine(&p, false).await?;
    let first = Arc::new(
        TxSender::new(
            p.clone(),
            key.clone(),
            pool.clone(),
            FeePolicy {
                bump_after: Duration::from_secs(60),
                ..policy()
            },
        )
        .await?,
    );
    let f = first.clone();
    let killed = tokio::spawn(async move { f.send(token, approve(1), "killed").await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    killed.abort(); // the process "dies" with nonce 0 in the pool
    drop(first);
    let stuck = attempts(&pool, 0).await?;
    assert_eq!(stuck.len(), 1);

    // Restart: the next nonce comes from the chain (0), and the stored attempt is outbid.
    let second = Arc::new(TxSender::new(p.clone(), key.clone(), pool.clone(), policy()).await?);
    let s = second.clone();
    let pending = tokio::spawn(async move { s.send(token, approve(2), "after restart").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    mine(&p).await?;
    let receipt = pending.await??;
    assert!(receipt.status());
    automine(&p, true).await?;
    let rows = attempts(&pool, 0).await?;
    let old: u128 = rows[0].0.parse()?;
    let new: u128 = rows[1].0.parse()?;
    assert!(
        new * 100 >= old * 110,
        "restart outbids the stuck transaction: {rows:?}"
    );
    assert_eq!(
        p.get_transaction_count(key.address()).await?,
        1,
        "exactly one of the two landed, no gap"
    );
    let t = TestUSDT::new(token, p.clone());
    assert_eq!(
        t.allowance(key.address(), Address::with_last_byte(2))
            .call()
            .await?,
        U256::from(2),
        "the replacement landed"
    );
    assert_eq!(
        t.allowance(key.address(), Address::with_last_byte(1))
            .call()
            .await?,
        U256::ZERO,
        "the stuck one did not"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_fee_spike_is_outbid_within_the_cap() -> eyre::Result<()> {
    let Rig {
        _chain,
        _db,
        pool,
        p,
        token,
        key,
    } = Rig::new().await?;
    let cap = 200_000_000_000u128; // 200 gwei
    let sender = Arc::new(
        TxSender::new(
            p.clone(),
            key.clone(),
            pool.clone(),
            FeePolicy {
                max_fee_cap: cap,
                ..policy()
            },
        )
        .await?,
    );
    automine(&p, false).await?;
    let s2 = sender.clone();
    let pending = tokio::spawn(async move { s2.send(token, approve(1), "spike").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The base fee jumps to 50 gwei: the first broadcast (a few gwei) cannot be included.
    let spike = 50_000_000_000u128;
    p.anvil_set_next_block_base_fee_per_gas(spike).await?;
    let t0 = std::time::Instant::now();
    while !pending.is_finished() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "never outbid the spike"
        );
        mine(&p).await?;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let receipt = pending.await??;
    assert!(receipt.status());
    automine(&p, true).await?;
    let rows = attempts(&pool, 0).await?;
    let fees: Vec<u128> = rows.iter().map(|(f, _)| f.parse().unwrap()).collect();
    assert!(fees.len() >= 2, "replaced: {fees:?}");
    assert!(
        fees[0] < 50_000_000_000,
        "first attempt below the spike: {fees:?}"
    );
    assert!(fees.iter().all(|f| *f <= cap), "cap respected: {fees:?}");
    assert_eq!(p.get_transaction_count(key.address()).await?, 1, "no gap");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_transaction_is_rebroadcast_bumped() -> eyre::Result<()> {
    let Rig {
        _chain,
        _db,
        pool,
        p,
        token,
        key,
    } = Rig::new().await?;
    let sender = Arc::new(TxSender::new(p.clone(), key.clone(), pool.clone(), policy()).await?);
    automine(&p, false).await?;
    let s2 = sender.clone();
    let pending = tokio::spawn(async move { s2.send(token, approve(1), "dropped").await });
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The node forgets the transaction.
    p.anvil_drop_all_transactions().await?;
    let t0 = std::time::Instant::now();
    while !pending.is_finished() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "dropped transaction never replaced"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        mine(&p).await?;
    }
    assert!(pending.await??.status());
    automine(&p, true).await?;
    assert!(
        attempts(&pool, 0).await?.len() >= 2,
        "a replacement was broadcast"
    );
    assert_eq!(p.get_transaction_count(key.address()).await?, 1, "no gap");
    Ok(())
}
