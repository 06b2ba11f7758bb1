//! Typed configuration of `pact-api` from flags and environment.

use crate::Settings;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// `pact-api`: the Pact HTTP API.
#[derive(Debug, clap::Parser)]
#[command(version, about)]
pub struct Cli {
    /// PostgreSQL URL of the Pact database (migrations are applied at start).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "PACT_API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Public base URL, used in the plugin manifest and the OpenAPI servers list.
    #[arg(
        long,
        env = "PACT_API_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    pub public_url: String,

    /// The operator's contact address, published in the plugin manifest.
    #[arg(
        long,
        env = "PACT_API_CONTACT_EMAIL",
        default_value = "operator@localhost"
    )]
    pub contact_email: String,

    /// Deployment files (`contracts/deployments/<chain_id>.json`) whose token and escrow are
    /// accepted in listings; repeat the flag, or separate with `;` in the environment.
    #[arg(
        long = "deployment",
        env = "PACT_API_DEPLOYMENTS",
        value_delimiter = ';'
    )]
    pub deployments: Vec<PathBuf>,

    /// Accept webhook URLs on private/loopback networks (local development only).
    #[arg(long, env = "PACT_API_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,

    /// Agent registrations per client IP per hour.
    #[arg(long, env = "PACT_API_REGISTER_PER_IP_PER_HOUR", default_value_t = 20)]
    pub register_per_ip_per_hour: u32,

    /// Requests per API key per minute.
    #[arg(
        long,
        env = "PACT_API_REQUESTS_PER_KEY_PER_MINUTE",
        default_value_t = 600
    )]
    pub requests_per_key_per_minute: u32,

    /// Largest request body, bytes.
    #[arg(long, env = "PACT_API_BODY_LIMIT", default_value_t = 64 * 1024)]
    pub body_limit: usize,

    /// Lifetime of an identity challenge, seconds.
    #[arg(long, env = "PACT_API_CHALLENGE_TTL_SECS", default_value_t = 300)]
    pub challenge_ttl_secs: i64,

    /// Timeout of one webhook request, seconds.
    #[arg(long, env = "PACT_API_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Lease of a claimed webhook delivery, seconds: another worker (replica) sends it again
    /// once the lease of a worker that died expires. Longer than the timeout (default: the
    /// timeout + 5 s).
    #[arg(long, env = "PACT_API_WEBHOOK_LEASE_SECS")]
    pub webhook_lease_secs: Option<u64>,

    /// Webhook requests in flight at most, per API process.
    #[arg(long, env = "PACT_API_WEBHOOK_CONCURRENCY", default_value_t = 64)]
    pub webhook_concurrency: usize,

    /// Webhook requests in flight at most to one endpoint (webhook URL), per API process.
    #[arg(
        long,
        env = "PACT_API_WEBHOOK_ENDPOINT_CONCURRENCY",
        default_value_t = 2
    )]
    pub webhook_endpoint_concurrency: usize,

    /// Database connections.
    #[arg(long, env = "PACT_API_DB_CONNECTIONS", default_value_t = 16)]
    pub db_connections: u32,
}

impl Cli {
    /// The handler settings.
    pub fn settings(&self) -> Settings {
        let timeout = self.webhook_timeout_secs.max(1);
        Settings {
            allow_private_webhooks: self.allow_private_webhooks,
            register_per_ip_per_hour: self.register_per_ip_per_hour,
            requests_per_key_per_minute: self.requests_per_key_per_minute,
            challenge_ttl_secs: self.challenge_ttl_secs,
            body_limit: self.body_limit,
            webhook_timeout: Duration::from_secs(timeout),
            webhook_lease: Duration::from_secs(self.webhook_lease_secs.unwrap_or(timeout + 5)),
            webhook_concurrency: self.webhook_concurrency,
            webhook_endpoint_concurrency: self.webhook_endpoint_concurrency,
            public_url: self.public_url.clone(),
            contact_email: self.contact_email.clone(),
            ..Settings::default()
        }
    }
}

/// Records the token and escrow of each deployment in `api_tokens`.
pub async fn seed_tokens(pool: &sqlx::PgPool, deployments: &[PathBuf]) -> eyre::Result<()> {
    for path in deployments {
        let d = pact_bindings::Deployment::load(path).map_err(|e| eyre::eyre!("{e}"))?;
        let (Some(token), Some(escrow)) = (d.token, d.escrow) else {
            eyre::bail!("{}: no token/escrow in the deployment", path.display());
        };
        sqlx::query!(
            "INSERT INTO api_tokens (chain_id, token, escrow, decimals) VALUES ($1, $2, $3, $4)
             ON CONFLICT (chain_id, token) DO UPDATE SET escrow = EXCLUDED.escrow, decimals = EXCLUDED.decimals",
            d.chain_id as i64,
            token.as_slice(),
            escrow.as_slice(),
            i16::from(d.token_decimals.unwrap_or(6)),
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}
