//! Pact API: a thin axum HTTP service for integrators and agents over the database the indexer
//! fills — order state and history, search over listings and orders, one message thread per
//! order, agent keys, identity binding by signed challenge, and HMAC-signed webhooks.
//!
//! [`router`] builds the whole service over an [`AppState`]; [`serve`] runs it with the
//! background workers (chain-change listener, deadline scan, webhook delivery).

pub mod agents;
pub mod auth;
pub mod chain;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod identity;
pub mod listings;
pub mod moi;
pub mod openapi;
pub mod orders;
pub mod ratelimit;
pub mod reply;
pub mod threads;
pub mod types;
pub mod webhooks;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, ApiResult};
use sqlx::PgPool;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Notify};

/// Tunables of the service (the parts of the config the handlers need).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Accept webhook URLs on private/loopback networks (local development and tests).
    pub allow_private_webhooks: bool,
    /// Registrations per client IP per hour.
    pub register_per_ip_per_hour: u32,
    /// Requests per API key per minute.
    pub requests_per_key_per_minute: u32,
    /// Lifetime of an identity challenge, seconds.
    pub challenge_ttl_secs: i64,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// How often the workers look for due work when nothing wakes them.
    pub worker_poll: Duration,
    /// Timeout of one webhook request (DNS check, connection and answer).
    pub webhook_timeout: Duration,
    /// Lease of a claimed webhook delivery: no other worker takes it before the lease expires
    /// (on the database's clock). Longer than `webhook_timeout`; a worker that dies holding it
    /// delays that delivery by at most this long.
    pub webhook_lease: Duration,
    /// Webhook requests one worker has in flight at most.
    pub webhook_concurrency: usize,
    /// Webhook requests one worker has in flight to one endpoint (webhook URL) at most.
    pub webhook_endpoint_concurrency: usize,
    /// Public base URL (for the plugin manifest), e.g. `https://api.pact.example`.
    pub public_url: String,
    /// The operator's contact address in the plugin manifest.
    pub contact_email: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allow_private_webhooks: false,
            register_per_ip_per_hour: 20,
            requests_per_key_per_minute: 600,
            challenge_ttl_secs: 300,
            body_limit: 64 * 1024,
            worker_poll: Duration::from_millis(500),
            webhook_timeout: Duration::from_secs(10),
            webhook_lease: Duration::from_secs(15),
            webhook_concurrency: 64,
            webhook_endpoint_concurrency: 2,
            public_url: "http://localhost:8080".into(),
            contact_email: "operator@localhost".into(),
        }
    }
}

/// Shared state of every handler and worker.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The clock (injectable).
    pub clock: Arc<dyn Clock>,
    /// Tunables.
    pub settings: Arc<Settings>,
    /// Rate limits, counted in PostgreSQL (shared by every replica).
    pub limiter: Arc<ratelimit::RateLimiter>,
    /// Wakes the webhook worker when a delivery is enqueued.
    pub wake: Arc<Notify>,
    /// HTTP client of the webhook worker.
    pub http: alloy::transports::http::reqwest::Client,
}

impl AppState {
    /// State over `pool` with the given clock and settings.
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>, settings: Settings) -> eyre::Result<Self> {
        eyre::ensure!(
            settings.webhook_lease > settings.webhook_timeout,
            "the webhook lease ({:?}) must be longer than the webhook timeout ({:?})",
            settings.webhook_lease,
            settings.webhook_timeout
        );
        eyre::ensure!(
            settings.webhook_concurrency >= 1 && settings.webhook_endpoint_concurrency >= 1,
            "webhook concurrency limits must be at least 1"
        );
        let http = alloy::transports::http::reqwest::Client::builder()
            .timeout(settings.webhook_timeout)
            .redirect(alloy::transports::http::reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            limiter: Arc::new(ratelimit::RateLimiter::new(pool.clone())),
            pool,
            clock,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
            http,
        })
    }
    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Applies the one migration history (`pact_db::MIGRATOR`).
pub async fn migrate(pool: &PgPool) -> eyre::Result<()> {
    pact_db::migrate(pool).await?;
    Ok(())
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.body_limit;
    let mut app = openapi::api_router();
    for (path, route) in openapi::meta_routes() {
        app = app.route(path, route);
    }
    app.fallback(|| async { ApiError::not_found("route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// Turns any non-JSON error response (axum's own 405, 413, ...) into `{code, message}`.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let mut json = ApiError::client(status, code, message).into_response();
    // Keep what the original response says besides its body: `Allow` on a 405, `Retry-After`.
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = resp.headers().get(&name) {
            json.headers_mut().insert(name, v.clone());
        }
    }
    json
}

/// Runs the service on `listener` until `shutdown` resolves, with the background workers; then
/// lets the webhook sends in flight finish and record their outcome.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> eyre::Result<()> {
    // Workers stop with the server, also when this future is dropped (aborted: the leases of
    // the sends in flight then expire and other workers send them again).
    let grace = state.settings.webhook_lease;
    let workers = spawn_workers(state.clone());
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    workers.stop(grace).await;
    served.map_err(Into::into)
}

/// The background workers; dropping this aborts them.
#[derive(Debug)]
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    chain: tokio::task::JoinHandle<()>,
    webhooks: tokio::task::JoinHandle<()>,
}

impl Workers {
    /// Stops the workers: the webhook worker claims nothing more and finishes its sends in
    /// flight (within `grace`), the chain listener is aborted.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.webhooks)
            .await
            .is_err()
        {
            tracing::warn!("webhook sends still in flight at shutdown: their leases will expire");
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.chain.abort();
        self.webhooks.abort();
    }
}

/// Spawns the chain listener and the webhook/deadline worker.
pub fn spawn_workers(state: AppState) -> Workers {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    Workers {
        stop,
        chain: tokio::spawn(chain::listen(state.clone())),
        webhooks: tokio::spawn(webhooks::run_worker(state, stopped)),
    }
}
