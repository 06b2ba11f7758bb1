//! `pact-relayer`: `signer`, `relay` and `keeper` subcommands (see `pact_relayer::config`).

use clap::Parser;
use eyre::{Context, Result, eyre};
use pact_bindings::Deployment;
use pact_relayer::{
    config::{Cli, Command, provider_at, satellite_lites},
    keeper::{Keeper, KeeperConfig},
    relay::{RelayTarget, Relayer},
    signer::{self, SignerConfig},
    tx::TxSender,
};
use std::{sync::Arc, time::Duration};

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let url = cli
        .database_url
        .ok_or_else(|| eyre!("--database-url or DATABASE_URL is required"))?;
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .wrap_err("connecting")?;
    pact_relayer::MIGRATOR
        .run(&db)
        .await
        .wrap_err("migrations")?;
    let mut tasks = tokio::task::JoinSet::new();
    match cli.command {
        Command::Signer(args) => {
            let key: alloy::signers::local::PrivateKeySigner =
                args.key.parse().wrap_err("--key")?;
            let (home_chain_id, targets) = args.targets()?;
            let cfg = SignerConfig {
                home: provider_at(&args.home_rpc)?,
                home_chain_id,
                finality: args.finality(),
                params: args.params(),
                pipeline: args.pipeline,
                poll: Duration::from_millis(args.poll_ms),
                rotation: args
                    .rotation
                    .as_deref()
                    .map(signer::Rotation::parse)
                    .transpose()?,
            };
            tasks.spawn(async move {
                signer::run(db, key, cfg, targets)
                    .await
                    .map_err(eyre::Report::from)
            });
        }
        Command::Relay(args) => {
            let key: alloy::signers::local::PrivateKeySigner =
                args.fees.key.parse().wrap_err("--key")?;
            let poll = Duration::from_millis(args.poll_ms);
            for spec in &args.satellites.specs {
                let (chain_id, lites) = satellite_lites(spec)?;
                let p = provider_at(&spec.rpc)?;
                let sender = Arc::new(
                    TxSender::new(p.clone(), key.clone(), db.clone(), args.fees.policy()).await?,
                );
                for (kind, lite) in lites {
                    let r = Relayer::new(
                        db.clone(),
                        RelayTarget {
                            kind,
                            chain_id,
                            lite,
                            provider: p.clone(),
                            sender: sender.clone(),
                        },
                    );
                    tasks.spawn(async move { r.run(poll).await.map_err(eyre::Report::from) });
                }
                if args.with_keeper {
                    let d = Deployment::load(&spec.deployment)?;
                    if let Some(escrow) = d.escrow {
                        let k = Keeper::new(
                            db.clone(),
                            p.clone(),
                            sender.clone(),
                            KeeperConfig {
                                escrow,
                                start_block: d.deploy_block.unwrap_or(0),
                                batch_size: args.keeper_batch,
                                scan_blocks: 10_000,
                                poll,
                            },
                        );
                        tasks.spawn(async move { k.run().await.map_err(eyre::Report::from) });
                    }
                }
            }
        }
        Command::Keeper(args) => {
            let key: alloy::signers::local::PrivateKeySigner =
                args.fees.key.parse().wrap_err("--key")?;
            let d = Deployment::load(&args.deployment)?;
            let escrow = d.escrow.ok_or_else(|| eyre!("deployment has no escrow"))?;
            let p = provider_at(&args.rpc)?;
            let sender =
                Arc::new(TxSender::new(p.clone(), key, db.clone(), args.fees.policy()).await?);
            let k = Keeper::new(
                db.clone(),
                p,
                sender,
                KeeperConfig {
                    escrow,
                    start_block: d.deploy_block.unwrap_or(0),
                    batch_size: args.batch,
                    scan_blocks: 10_000,
                    poll: Duration::from_millis(args.poll_ms),
                },
            );
            tasks.spawn(async move { k.run().await.map_err(eyre::Report::from) });
        }
    }
    tokio::select! {
        res = tasks.join_next() => match res {
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(eyre!("task panicked: {e}")),
            None => Ok(()),
        },
        _ = tokio::signal::ctrl_c() => { tracing::info!("shutting down"); Ok(()) }
    }
}
