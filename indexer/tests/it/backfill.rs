//! Backfill over many small adaptive ranges with requests in flight, then the live tail: the rows
//! equal the chain's logs exactly.

use crate::common::*;
use std::time::Duration;

#[tokio::test]
async fn backfill_then_live_tail_write_exactly_the_chains_logs() -> eyre::Result<()> {
    let env = env(31337).await?;
    env.fill(60, 25, 1).await?;
    env.mine(40).await?; // empty blocks: ranges must grow over them
    env.fill(20, 3, 2).await?;

    let mut cfg = env.config();
    cfg.initial_range = 2;
    cfg.max_range = 16;
    cfg.target_logs = 50;
    cfg.live_distance = 4;
    cfg.concurrency = 3;
    let stop = spawn(env.follower(cfg));
    env.wait_synced(Duration::from_secs(30)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    assert_eq!(db_rows(env.store.pool()).await?.len(), 60 * 25 + 20 * 3);

    // Live: new blocks appear as rows.
    env.fill(5, 7, 3).await?;
    env.wait_synced(Duration::from_secs(10)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    stop.send(true)?;

    // A restart resumes from the cursor: nothing doubled, nothing lost.
    env.fill(3, 2, 4).await?;
    let stop = spawn(env.follower(env.config()));
    env.wait_synced(Duration::from_secs(10)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    stop.send(true)?;
    Ok(())
}

#[tokio::test]
async fn notify_fires_on_commit() -> eyre::Result<()> {
    let env = env(31337).await?;
    let mut listener = sqlx::postgres::PgListener::connect(&env.db.url).await?;
    listener.listen(pact_indexer::store::NOTIFY_CHANNEL).await?;
    env.fill(1, 2, 1).await?;
    let stop = spawn(env.follower(env.config()));
    let note = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await??;
    let payload: serde_json::Value = serde_json::from_str(note.payload())?;
    assert_eq!(payload["chain_id"], 31337);
    assert!(payload["to"].as_u64().is_some());
    stop.send(true)?;
    Ok(())
}
