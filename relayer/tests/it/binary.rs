//! The `pact-relayer` binary: four `signer` processes and one `relay` process, configured from
//! deployment files, propagate an update (real processes, flags as documented).

use crate::common::{SAT, Stack, word};
use pact_relayer::{batch::LiteKind, home::PlanParams};
use pact_testkit::KillOnDrop;
use std::{path::PathBuf, process::Command, time::Duration};

fn write(dir: &std::path::Path, name: &str, v: &serde_json::Value) -> eyre::Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v)?)?;
    Ok(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signer_and_relay_processes_propagate_an_update() -> eyre::Result<()> {
    let s = Stack::new(PlanParams::default(), 2).await?;
    let dir = std::env::temp_dir().join(format!("pact-relayer-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let home = write(
        &dir,
        "8453.json",
        &serde_json::json!({
            "chainId": crate::common::HOME,
            "identityRegistry": s.identity_registry,
            "didRegistry": s.did_registry,
            "stakeRegistry": s.stake_registry,
            "identityDeployBlock": s.start_block,
        }),
    )?;
    let sat = write(
        &dir,
        "10.json",
        &serde_json::json!({
            "chainId": SAT,
            "identityLite": s.identity_lite,
            "didLite": s.did_lite,
            "stakingLite": s.staking_lite,
            "homeChainId": crate::common::HOME,
        }),
    )?;
    let satellite = format!("rpc={},deployment={}", s.sat.rpc_url(), sat.display());
    let bin = env!("CARGO_BIN_EXE_pact-relayer");
    let db_url = s._db.url.clone();
    let mut procs = Vec::new();
    for i in 0..4 {
        let key = s.signer_key(i).to_bytes().to_string();
        procs.push(KillOnDrop(
            Command::new(bin)
                .env("RUST_LOG", "warn")
                .env("DATABASE_URL", &db_url)
                .env("PACT_SIGNER_KEY", key)
                .args([
                    "signer",
                    "--home-rpc",
                    &s.home.rpc_url(),
                    "--home-deployment",
                ])
                .arg(&home)
                .args([
                    "--satellite",
                    &satellite,
                    "--confirmations",
                    "2",
                    "--poll-ms",
                    "50",
                ])
                .spawn()?,
        ));
    }
    procs.push(KillOnDrop(
        Command::new(bin)
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &db_url)
            .env("PACT_RELAYER_KEY", s.sat.signer(1).to_bytes().to_string())
            .args([
                "relay",
                "--satellite",
                &satellite,
                "--poll-ms",
                "50",
                "--bump-after-ms",
                "2000",
            ])
            .spawn()?,
    ));
    let me = s.home.signer(2).address();
    let r = s.did_set(2, word("via-bin"), b"processes").await?;
    s.finalize_home().await?;
    s.wait_covered(
        LiteKind::Did,
        r.block_number.unwrap(),
        Duration::from_secs(60),
    )
    .await?;
    s.assert_did_equal(&[(me, word("via-bin"))]).await?;
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
