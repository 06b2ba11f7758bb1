//! `pact-indexer`: follows every configured chain into PostgreSQL until SIGINT/SIGTERM.

use clap::Parser;
use pact_indexer::{config::Cli, follower::Follower, metrics, store::Store};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let configs = cli
        .chains
        .iter()
        .map(|spec| cli.follower_config(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<u64> = configs.iter().map(|c| c.chain_id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        eyre::bail!("configuration: a chain id appears twice in --chain");
    }
    let store = Store::connect(&cli.database_url).await?;
    let followers = configs
        .into_iter()
        .map(|cfg| Follower::new(cfg, store.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(addr) = cli.metrics_addr {
        let chains = followers.iter().map(|f| f.metrics()).collect();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(addr, chains).await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        });
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let results = futures::future::join_all(followers.iter().map(|f| f.run(stop_rx.clone()))).await;
    for r in results {
        r?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
