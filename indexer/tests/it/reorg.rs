//! Reorgs (anvil snapshot/revert, then a different branch): the tables hold exactly the canonical
//! chain's rows, and every reorg is recorded.

use crate::common::*;
use alloy::providers::Provider;
use pact_testkit::AnvilApi;
use std::time::Duration;

async fn reorg_case(depth: usize, new_len: usize) -> eyre::Result<()> {
    let env = env(31337).await?;
    env.fill(5, 4, 1).await?;
    let stop = spawn(env.follower(env.config()));
    env.wait_synced(Duration::from_secs(10)).await?;

    let snap = env.chain.provider.anvil_snapshot().await?;
    let fork_block = env.chain.provider.get_block_number().await?;
    env.fill(depth, 3, 2).await?; // branch A
    env.wait_synced(Duration::from_secs(10)).await?;
    let a_rows = db_rows(env.store.pool()).await?;
    assert_eq!(a_rows, env.canonical().await?);

    let reverted = env.chain.provider.anvil_revert(snap).await?;
    assert!(reverted);
    // Reverted transactions go back to anvil's pool; branch B must not contain them.
    env.chain.provider.anvil_drop_all_transactions().await?;
    if new_len > 0 {
        env.fill(new_len, 2, 3).await?; // branch B: other transfers
    }
    env.wait_synced(Duration::from_secs(10)).await?;
    let b_rows = db_rows(env.store.pool()).await?;
    assert_eq!(b_rows, env.canonical().await?, "exactly the canonical rows");
    assert_ne!(a_rows, b_rows);

    let (forks,): (Vec<i64>,) = sqlx::query_as("SELECT array_agg(fork_block) FROM reorgs")
        .fetch_one(env.store.pool())
        .await?;
    assert_eq!(
        forks,
        vec![fork_block as i64],
        "one reorg, forked at the snapshot block"
    );
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM blocks b WHERE b.number > $1 AND NOT EXISTS (SELECT 1 FROM token_transfers t WHERE t.block_number = b.number)",
    )
    .bind(fork_block as i64 + new_len as i64)
    .fetch_one(env.store.pool())
    .await?;
    assert_eq!(stale, 0, "no block of the dead branch stays in the window");
    stop.send(true)?;
    Ok(())
}

#[tokio::test]
async fn reorg_depth_1_longer_branch() -> eyre::Result<()> {
    reorg_case(1, 2).await
}

#[tokio::test]
async fn reorg_depth_1_same_length() -> eyre::Result<()> {
    reorg_case(1, 1).await
}

#[tokio::test]
async fn reorg_depth_6_longer_branch() -> eyre::Result<()> {
    reorg_case(6, 8).await
}

#[tokio::test]
async fn reorg_to_a_shorter_chain() -> eyre::Result<()> {
    reorg_case(4, 0).await
}
