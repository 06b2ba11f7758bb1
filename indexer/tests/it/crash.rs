//! `kill -9` of the `pact-indexer` process at random points of a backfill, then a restart: the
//! database equals a clean run's, row for row.

use crate::common::*;
use pact_indexer::store::Store;
use pact_testkit::{KillOnDrop, TestDb};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::{
    process::{Command, Stdio},
    time::Duration,
};

fn spawn_indexer(db_url: &str, rpc: &str, deployment: &std::path::Path) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pact-indexer"))
            .args(["--database-url", db_url, "--chain"])
            .arg(format!("rpc={rpc},deployment={}", deployment.display()))
            .args(["--max-range", "8", "--concurrency", "2", "--poll-ms", "10"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pact-indexer"),
    )
}

#[tokio::test]
async fn kill_9_at_random_points_then_restart_equals_a_clean_run() -> eyre::Result<()> {
    let env = env(31337).await?;
    env.fill(300, 40, 1).await?;
    let dir = std::env::temp_dir().join(format!("pact-crash-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir)?;
    let deployment = dir.join("31337.json");
    std::fs::write(
        &deployment,
        serde_json::json!({ "chainId": 31337, "token": env.emitter, "deployBlock": env.deploy_block }).to_string(),
    )?;

    // Crashy run: killed with SIGKILL several times mid-backfill.
    let seed = rand::random::<u64>();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut kills = 0;
    let mut progress = Vec::new();
    for _ in 0..6 {
        let mut child = spawn_indexer(&env.db.url, &env.chain.rpc_url(), &deployment);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..600))).await;
        child.kill()?; // SIGKILL, then reaped
        kills += 1;
        progress.push(env.store.cursor(31337).await?.map(|c| c.number));
    }
    let mut child = spawn_indexer(&env.db.url, &env.chain.rpc_url(), &deployment);
    let synced = env.wait_synced(Duration::from_secs(60)).await;
    child.kill()?;
    synced?;

    // Clean run into a second database.
    let clean_db = TestDb::new().await?;
    let clean = Store::connect(&clean_db.url).await?;
    let mut child = spawn_indexer(&clean_db.url, &env.chain.rpc_url(), &deployment);
    let synced = wait_synced(&env.chain, &clean, Duration::from_secs(60)).await;
    child.kill()?;
    synced?;

    let crashy = db_dump(env.store.pool()).await?;
    assert_eq!(crashy.len(), 300 * 40 + 1);
    assert!(
        crashy == db_dump(clean.pool()).await?,
        "seed {seed}: crashy run differs from the clean run"
    );
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    eprintln!("seed {seed}: {kills} kills, cursor after each: {progress:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
