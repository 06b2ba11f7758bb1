//! `pact-api`: the Pact HTTP API.

use clap::Parser;
use pact_api::{AppState, SystemClock, config::Cli};
use std::sync::Arc;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(cli.db_connections)
        .connect(&cli.database_url)
        .await?;
    pact_api::migrate(&pool).await?;
    pact_api::config::seed_tokens(&pool, &cli.deployments).await?;
    let state = AppState::new(pool, Arc::new(SystemClock), cli.settings())?;
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "pact-api listening");
    pact_api::serve(state, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
