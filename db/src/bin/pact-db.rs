//! `pact-db`: the database's own operations, through the one migrator.
//!
//! ```text
//! pact-db migrate [--create] --database-url URL   apply every pending migration
//! pact-db drop --database-url URL                 drop the database (scratch databases)
//! ```

use clap::{Parser, Subcommand};
use eyre::{Context, Result, bail};
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};
use std::str::FromStr;

#[derive(Parser)]
#[command(about = "Pact's database: migrations through the one migrator")]
struct Cli {
    /// PostgreSQL URL of the Pact database.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply every pending migration.
    Migrate {
        /// Create the database first if it does not exist.
        #[arg(long)]
        create: bool,
    },
    /// Drop the database if it exists.
    Drop,
}

/// The database's name and a connection to the server's `postgres` database.
async fn server(url: &str) -> Result<(String, PgConnection)> {
    let opts = PgConnectOptions::from_str(url).wrap_err("--database-url")?;
    let Some(name) = opts.get_database().map(str::to_string) else {
        bail!("--database-url names no database");
    };
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("database name {name:?}: only letters, digits and _ are supported here");
    }
    let conn = PgConnection::connect_with(&opts.database("postgres"))
        .await
        .wrap_err("connecting to the server's postgres database")?;
    Ok((name, conn))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let Some(url) = cli.database_url else {
        bail!("--database-url or DATABASE_URL is required");
    };
    match cli.command {
        Command::Migrate { create } => {
            if create {
                let (name, mut conn) = server(&url).await?;
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
                )
                .bind(&name)
                .fetch_one(&mut conn)
                .await?;
                if !exists {
                    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                        .await
                        .wrap_err_with(|| format!("creating database {name}"))?;
                    tracing::info!(database = %name, "created");
                }
            }
            let pool = sqlx::PgPool::connect(&url).await.wrap_err("connecting")?;
            pact_db::migrate(&pool).await.wrap_err("migrating")?;
            tracing::info!(
                migrations = pact_db::MIGRATOR.iter().count(),
                "schema is current"
            );
        }
        Command::Drop => {
            let (name, mut conn) = server(&url).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await
                .wrap_err_with(|| format!("dropping database {name}"))?;
            tracing::info!(database = %name, "dropped");
        }
    }
    Ok(())
}
