//! The first whole path: anvil from the npm binary, the test token deployed through the Rust
//! bindings, transfers and balances read back, and a fresh PostgreSQL database.

use alloy::primitives::U256;
use pact_bindings::TestUSDT;
use pact_testkit::{TestDb, anvil};

#[tokio::test]
async fn token_on_anvil_and_a_fresh_database() -> eyre::Result<()> {
    let chain = anvil(31337)?;
    let deployer = chain.signer(0).address();
    let alice = chain.signer(1).address();

    let usdt = TestUSDT::new(
        pact_testkit::deploy::token(&chain.provider).await?,
        &chain.provider,
    );
    assert_eq!(usdt.decimals().call().await?, U256::from(6));

    let million = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(6));
    usdt.mint(deployer, million)
        .send()
        .await?
        .get_receipt()
        .await?;
    let receipt = usdt
        .transfer(alice, U256::from(2_500_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "transfer mined successfully");
    // USDT's transfer returns nothing; the Transfer event carries the amount.
    let transfer = receipt
        .decoded_log::<TestUSDT::Transfer>()
        .expect("a Transfer event");
    assert_eq!(
        (transfer.from, transfer.to, transfer.value),
        (deployer, alice, U256::from(2_500_000u64))
    );

    assert_eq!(
        usdt.balanceOf(alice).call().await?,
        U256::from(2_500_000u64)
    );
    assert_eq!(
        usdt.balanceOf(deployer).call().await?,
        million - U256::from(2_500_000u64)
    );

    // A blocklisted sender's transfer reverts on-chain.
    usdt.addBlackList(alice).send().await?.get_receipt().await?;
    let alice_usdt = TestUSDT::new(*usdt.address(), chain.provider_for(1));
    assert!(
        alice_usdt
            .transfer(deployer, U256::from(1u64))
            .call()
            .await
            .is_err()
    );

    // A fresh database, created for this test and dropped after it.
    let db = TestDb::new().await?;
    let pool = db.pool().await?;
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool)
        .await?;
    assert_eq!(name, db.name);
    pool.close().await;
    let db_name = db.name.clone();
    drop(db);
    let admin = pact_testkit::database_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(&db_name)
            .fetch_one(&mut conn)
            .await?;
    assert!(!exists, "the test database is dropped");
    Ok(())
}
