//! Signed webhooks from a PostgreSQL outbox.
//!
//! Events are inserted into `webhook_deliveries` in the same transaction as the change they
//! announce. A worker ([`run_worker`]) claims due rows in a short transaction (`FOR UPDATE SKIP
//! LOCKED`, then a lease: `claimed_until` and the `claims` token), POSTs them outside any
//! transaction, concurrently and with a limit per endpoint, signed with HMAC-SHA256 over
//! `timestamp + "." + body`, and records each outcome in its own statement while its claim is
//! current. On failure it retries after 1 m, 5 m, 30 m, 2 h and 12 h, then dead-letters the row.
//! A worker that dies leaves its leases to expire; the rows are then claimed and sent again.
//! Delivery is at-least-once; receivers dedupe on `X-Pact-Delivery`.

use crate::{
    AppState,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    types::{Cursor, Page, limit},
};
use axum::{Json, extract::State};
use hmac::{Hmac, Mac};
use pact_db::states::DeliveryStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgConnection;
use std::{collections::HashMap, net::IpAddr};
use tokio::task::JoinSet;

/// Seconds to wait after failed attempt `n` (1-based); after the last, the delivery is dead.
pub const RETRY_SCHEDULE: [i64; 5] = [60, 300, 1800, 7200, 43200];

/// Checks a webhook URL: http(s), a host, and no private/loopback target unless allowed.
pub fn validate_url(s: &str, allow_private: bool) -> ApiResult<String> {
    let bad = |m: &str| ApiError::unprocessable("invalid_webhook_url", m.to_string());
    if s.len() > 2000 {
        return Err(bad("webhook_url is longer than 2000 characters"));
    }
    let url = url::Url::parse(s).map_err(|_| bad("webhook_url is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("webhook_url must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("webhook_url must not carry credentials"));
    }
    let private = match url.host() {
        None => return Err(bad("webhook_url has no host")),
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
        }
    };
    if private && !allow_private {
        return Err(ApiError::unprocessable(
            "webhook_target_private",
            "webhook_url points at a private or loopback address",
        ));
    }
    Ok(url.to_string())
}

/// Loopback, private, link-local, unspecified, CGNAT, multicast, documentation and ULA ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Enqueues an event for an agent that has a webhook (no-op otherwise). Same `(agent, event,
/// dedup_key)` twice is one delivery.
pub async fn enqueue(
    conn: &mut PgConnection,
    agent_id: i64,
    event: &str,
    dedup_key: &str,
    data: Value,
    now: i64,
) -> ApiResult<()> {
    sqlx::query!(
        "INSERT INTO webhook_deliveries (agent_id, event, dedup_key, payload, next_attempt_at, created_at)
         SELECT id, $2, $3, $4, $5, $5 FROM agents WHERE id = $1 AND webhook_url IS NOT NULL
         ON CONFLICT ON CONSTRAINT webhook_deliveries_dedup DO NOTHING",
        agent_id,
        event,
        dedup_key,
        data,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// `sha256=<hex>` of HMAC-SHA256(secret, `timestamp.body`).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body of a delivery (stable across retries).
pub fn body_of(id: i64, event: &str, created_at: i64, data: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": format!("dlv_{id}"),
        "event": event,
        "created_at": created_at,
        "data": data,
    }))
    .unwrap_or_default()
}

/// A delivery claimed by this worker: the row as the claim found it, the agent's webhook, and
/// the claim's token (`claims` after the claim; the outcome is recorded only while it holds).
struct Claim {
    id: i64,
    event: String,
    payload: Value,
    attempts: i32,
    schedule_start: i32,
    created_at: i64,
    claims: i64,
    url: Option<String>,
    secret: Option<String>,
}

impl Claim {
    /// The endpoint the per-endpoint limit counts against (`''` without a webhook, as in SQL).
    fn endpoint(&self) -> &str {
        self.url.as_deref().unwrap_or_default()
    }
}

/// Outcome of one attempt: `Ok(status)` for a 2xx, `Err((status, error))` otherwise.
type Outcome = Result<u16, (Option<u16>, String)>;

/// One attempt, without its time limit (see [`deliver`]).
async fn attempt(st: &AppState, d: &Claim, now: i64) -> Outcome {
    let (Some(url), Some(secret)) = (&d.url, &d.secret) else {
        return Err((None, "agent has no webhook configured".into()));
    };
    if !st.settings.allow_private_webhooks {
        let parsed = url::Url::parse(url).map_err(|e| (None, e.to_string()))?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| (None, format!("resolving host: {e}")))?;
        for a in addrs {
            if is_private(a.ip()) {
                return Err((None, "target resolves to a private address".into()));
            }
        }
    }
    let body = body_of(d.id, &d.event, d.created_at, &d.payload);
    let resp = st
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-pact-signature", sign(secret, now, &body))
        .header("x-pact-timestamp", now.to_string())
        .header("x-pact-delivery", format!("dlv_{}", d.id))
        .header("x-pact-event", &d.event)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, format!("request failed: {}", e.without_url())))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err((Some(status), format!("receiver answered {status}")))
    }
}

/// What one worker has in flight, against its global limit and its per-endpoint limit (an
/// endpoint is a webhook URL, shared by every agent that uses it).
#[derive(Debug)]
struct InFlight {
    total: usize,
    per_endpoint: HashMap<String, usize>,
    max_total: usize,
    max_per_endpoint: usize,
}

impl InFlight {
    fn new(settings: &crate::Settings) -> Self {
        Self {
            total: 0,
            per_endpoint: HashMap::new(),
            max_total: settings.webhook_concurrency,
            max_per_endpoint: settings.webhook_endpoint_concurrency,
        }
    }
    /// Requests this worker may still start.
    fn free(&self) -> usize {
        self.max_total.saturating_sub(self.total)
    }
    /// Requests it may still start to `endpoint`.
    fn room(&self, endpoint: &str) -> usize {
        let busy = self.per_endpoint.get(endpoint).copied().unwrap_or(0);
        self.max_per_endpoint.saturating_sub(busy)
    }
    /// The endpoints at their limit.
    fn full(&self) -> Vec<String> {
        self.per_endpoint
            .iter()
            .filter(|(_, n)| **n >= self.max_per_endpoint)
            .map(|(e, _)| e.clone())
            .collect()
    }
    fn start(&mut self, endpoint: &str) {
        self.total += 1;
        *self.per_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }
    fn finish(&mut self, endpoint: &str) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_endpoint.get_mut(endpoint) {
            *n -= 1;
            if *n == 0 {
                self.per_endpoint.remove(endpoint);
            }
        }
    }
}

/// Claims due deliveries, as many as `flight` has room for (overall and per endpoint), in one
/// short transaction: the due rows nobody holds a lease on are locked with `SKIP LOCKED` (a
/// concurrent claim skips them), then leased for [`crate::Settings::webhook_lease`] on the
/// database's clock and their `claims` token bumped. Returns the claims and whether more may be
/// claimable now (the candidates filled the request, or an endpoint filled up within it).
async fn claim(st: &AppState, flight: &InFlight) -> ApiResult<(Vec<Claim>, bool)> {
    let want = flight.free();
    if want == 0 {
        return Ok((vec![], false));
    }
    let mut tx = st.pool.begin().await?;
    let candidates = sqlx::query!(
        r#"SELECT d.id, COALESCE(a.webhook_url, '') AS "endpoint!"
           FROM webhook_deliveries d JOIN agents a ON a.id = d.agent_id
           WHERE d.status = $1 AND d.next_attempt_at <= $2
             AND (d.claimed_until IS NULL OR d.claimed_until <= clock_timestamp())
             AND COALESCE(a.webhook_url, '') <> ALL($3)
           ORDER BY d.next_attempt_at, d.id LIMIT $4
           FOR UPDATE OF d SKIP LOCKED"#,
        DeliveryStatus::Pending.as_str(),
        st.now(),
        &flight.full(),
        want as i64,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut picked = vec![];
    let mut endpoint_filled = false;
    for c in &candidates {
        let n = taken.entry(c.endpoint.as_str()).or_default();
        if *n < flight.room(&c.endpoint) {
            *n += 1;
            picked.push(c.id);
        } else {
            endpoint_filled = true;
        }
    }
    if picked.is_empty() {
        return Ok((vec![], false));
    }
    let claims = sqlx::query_as!(
        Claim,
        "UPDATE webhook_deliveries d
         SET claimed_until = clock_timestamp() + make_interval(secs => $2), claims = d.claims + 1
         FROM agents a WHERE d.id = ANY($1) AND a.id = d.agent_id
         RETURNING d.id, d.event, d.payload, d.attempts, d.schedule_start, d.created_at, d.claims,
                   a.webhook_url AS url, a.webhook_secret AS secret",
        &picked,
        st.settings.webhook_lease.as_secs_f64(),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((claims, endpoint_filled || candidates.len() == want))
}

/// Records the outcome of claim `c`'s attempt (made at `at`) in one statement: the row's new
/// state (delivered, the next retry, or dead) and one `webhook_attempts` row, both only if `c`
/// is still the row's current claim. Returns whether it was recorded: a claim whose lease
/// expired and that another worker took again records nothing (that worker records its own).
async fn record(st: &AppState, c: &Claim, at: i64, outcome: &Outcome) -> ApiResult<bool> {
    let n = c.attempts + 1;
    let (status_code, error) = match outcome {
        Ok(s) => (Some(i32::from(*s)), None),
        Err((s, e)) => (s.map(i32::from), Some(e.as_str())),
    };
    let (status, next, delivered_at) = match outcome {
        Ok(_) => (DeliveryStatus::Delivered, None, Some(at)),
        Err(_) => match RETRY_SCHEDULE.get((n - c.schedule_start - 1) as usize) {
            Some(delay) => (DeliveryStatus::Pending, Some(at + delay), None),
            None => (DeliveryStatus::Dead, Some(at), None),
        },
    };
    if outcome.is_err() {
        tracing::info!(
            delivery = c.id,
            attempt = n,
            status = status.as_str(),
            error = error.unwrap_or_default(),
            "webhook attempt failed"
        );
    }
    let recorded = sqlx::query!(
        "WITH d AS (
             UPDATE webhook_deliveries SET status = $3, attempts = $4,
                 next_attempt_at = COALESCE($5, next_attempt_at), last_status = $6, last_error = $7,
                 delivered_at = $8, claimed_until = NULL
             WHERE id = $1 AND claims = $2 RETURNING id)
         INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error)
         SELECT id, $4, $9, $6, $7 FROM d",
        c.id,
        c.claims,
        status.as_str(),
        n,
        next,
        status_code,
        error,
        delivered_at,
        at,
    )
    .execute(&st.pool)
    .await?
    .rows_affected();
    if recorded == 0 {
        tracing::warn!(
            delivery = c.id,
            attempt = n,
            "the lease of this attempt expired and the delivery was claimed again: outcome not recorded"
        );
    }
    Ok(recorded == 1)
}

/// Sends claim `c` (signed at the time of sending, limited to the webhook timeout, DNS check
/// included) and records the outcome. A failure to record leaves the lease to expire: the
/// attempt is then made again.
#[tracing::instrument(skip_all, fields(delivery = c.id, attempt = c.attempts + 1))]
async fn deliver(st: AppState, c: Claim) {
    let at = st.now();
    let limit = st.settings.webhook_timeout;
    let outcome = tokio::time::timeout(limit, attempt(&st, &c, at))
        .await
        .unwrap_or_else(|_| {
            Err((
                None,
                format!("no answer within {:.1} s", limit.as_secs_f64()),
            ))
        });
    if let Err(e) = record(&st, &c, at, &outcome).await {
        tracing::warn!(error = %e, "recording a webhook attempt failed; it is retried when its lease expires");
    }
}

/// The delivery side of the worker: claims, the sends in flight and their endpoints.
struct Deliveries {
    st: AppState,
    flight: InFlight,
    sends: JoinSet<()>,
    endpoints: HashMap<tokio::task::Id, String>,
}

impl Deliveries {
    fn new(st: AppState) -> Self {
        Self {
            flight: InFlight::new(&st.settings),
            st,
            sends: JoinSet::new(),
            endpoints: HashMap::new(),
        }
    }

    /// Claims and starts due deliveries until the limits are reached or none is left.
    async fn fill(&mut self) {
        loop {
            let (claims, more) = match claim(&self.st, &self.flight).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed");
                    return;
                }
            };
            for c in claims {
                let endpoint = c.endpoint().to_string();
                self.flight.start(&endpoint);
                let task = self.sends.spawn(deliver(self.st.clone(), c));
                self.endpoints.insert(task.id(), endpoint);
            }
            if !more {
                return;
            }
        }
    }

    /// Accounts for a finished send.
    fn finished(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match done {
            Ok((id, ())) => id,
            Err(e) => {
                tracing::error!(error = %e, "a webhook send panicked; its lease will expire");
                e.id()
            }
        };
        if let Some(endpoint) = self.endpoints.remove(&id) {
            self.flight.finish(&endpoint);
        }
    }
}

/// Enqueues `order.deadline` for orders whose automatic step became due since the last scan.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn scan_deadlines(st: &AppState) -> ApiResult<u64> {
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let since: Option<(i64,)> =
        sqlx::query!("SELECT value FROM api_scan_cursors WHERE name = 'deadlines' FOR UPDATE",)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.value,));
    let since = since.map(|s| s.0).unwrap_or(i64::MIN);
    if since >= now {
        return Ok(0);
    }
    let n = sqlx::query!(
        "INSERT INTO webhook_deliveries (agent_id, event, dedup_key, payload, next_attempt_at, created_at)
         SELECT DISTINCT ON (p.agent_id, o.chain_id, o.escrow, o.order_id) p.agent_id, 'order.deadline',
                o.chain_id || ':' || encode(o.escrow, 'hex') || ':' || encode(o.order_id, 'hex') || ':'
                  || o.next_action || ':' || o.next_action_at,
                jsonb_build_object('order_id', '0x' || encode(o.order_id, 'hex'), 'chain_id', o.chain_id,
                  'state', o.state, 'next_action', o.next_action, 'due_at', o.next_action_at),
                $2, $2
         FROM escrow_orders o
         JOIN LATERAL (
             SELECT x.agent_id FROM agent_addresses x WHERE x.address IN (o.buyer, o.seller)
             UNION SELECT a.buyer_agent FROM app_orders a WHERE a.order_id = o.order_id
             UNION SELECT a.seller_agent FROM app_orders a WHERE a.order_id = o.order_id
         ) p ON true
         JOIN agents ag ON ag.id = p.agent_id AND ag.webhook_url IS NOT NULL
         WHERE o.next_action IS NOT NULL AND o.next_action_at > $1 AND o.next_action_at <= $2
         ON CONFLICT ON CONSTRAINT webhook_deliveries_dedup DO NOTHING",
        since,
        now,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "INSERT INTO api_scan_cursors (name, value) VALUES ('deadlines', $1)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        now,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Housekeeping of the worker: the deadline scan, old idempotency keys and rate limit windows.
async fn housekeeping(st: &AppState) {
    if let Err(e) = scan_deadlines(st).await {
        tracing::warn!(error = %e, "deadline scan failed");
    }
    let _ = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        st.now() - 86_400,
    )
    .execute(&st.pool)
    .await;
    if let Err(e) = st.limiter.prune(st.now()).await {
        tracing::warn!(error = %e, "pruning rate limit windows failed");
    }
}

/// The worker: claims due deliveries and sends them concurrently, outside any transaction, up to
/// [`crate::Settings::webhook_concurrency`] requests at once and
/// [`crate::Settings::webhook_endpoint_concurrency`] per endpoint, so a slow or stalled receiver
/// holds only its own slots; a freed slot is refilled at once. It also runs the housekeeping
/// (deadline scan, pruning) every [`crate::Settings::worker_poll`], and looks for due work then
/// and whenever woken. When `stop` turns true (or its sender is dropped) it claims nothing more,
/// lets the sends in flight finish and record their outcome (each within the webhook timeout),
/// and returns. Several workers (replicas) may share the outbox: a row is sent by the worker
/// holding its lease only.
pub async fn run_worker(st: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut d = Deliveries::new(st.clone());
    let mut tick = tokio::time::interval(st.settings.worker_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            r = stop.changed() => {
                if r.is_err() {
                    break;
                }
                continue;
            }
            Some(done) = d.sends.join_next_with_id() => d.finished(done),
            _ = st.wake.notified() => {}
            _ = tick.tick() => housekeeping(&st).await,
        }
        d.fill().await;
    }
    while let Some(done) = d.sends.join_next_with_id().await {
        d.finished(done);
    }
}

/// A webhook delivery (the outbox row and its log).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Delivery {
    /// `dlv_<n>`, also sent as `X-Pact-Delivery`.
    pub id: String,
    /// `order.updated`, `message.created` or `order.deadline`.
    pub event: String,
    /// `pending`, `delivered` or `dead`.
    #[schemars(extend("enum" = ["pending", "delivered", "dead"]))]
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Unix seconds of the next attempt (while pending).
    pub next_attempt_at: i64,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// Error of the last attempt.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub delivered_at: Option<i64>,
    /// The event's body.
    pub data: Value,
    /// Every attempt (`GET /v1/webhooks/deliveries/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<Attempt>>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Attempt {
    /// 1-based.
    pub attempt: i32,
    /// Unix seconds.
    pub at: i64,
    /// HTTP status, when the receiver answered.
    pub status_code: Option<i32>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// A `webhook_deliveries` row as the log shows it.
struct DeliveryRow {
    id: i64,
    event: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
    payload: Value,
}

impl Delivery {
    fn from_row(r: DeliveryRow) -> Self {
        Self {
            id: format!("dlv_{}", r.id),
            event: r.event,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            data: r.payload,
            attempt_log: None,
        }
    }
}

fn parse_delivery_id(s: &str) -> ApiResult<i64> {
    s.strip_prefix("dlv_")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_delivery_id", "delivery ids look like dlv_123")
        })
}

/// `GET /v1/webhooks/deliveries` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `dead`.
    #[serde(default)]
    #[schemars(extend("enum" = ["pending", "delivered", "dead"]))]
    status: Option<String>,
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// The caller's delivery log, newest first.
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Page<Delivery>>> {
    let limit = limit(q.limit)?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("invalid_query", "status must be pending, delivered or dead")
            })
        })
        .transpose()?;
    let before = match &q.cursor {
        Some(c) => Cursor::parse(c, 1)?.i64(0)?,
        None => i64::MAX,
    };
    let rows = sqlx::query_as!(
        DeliveryRow,
        "SELECT id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, payload FROM webhook_deliveries WHERE agent_id = $1 AND id < $2
           AND ($3::TEXT IS NULL OR status = $3) ORDER BY id DESC LIMIT $4",
        auth.agent_id,
        before,
        status.map(DeliveryStatus::as_str),
        limit + 1,
    )
    .fetch_all(&st.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<DeliveryRow> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        page.last().map(|r| Cursor(vec![json!(r.id)]).encode())
    } else {
        None
    };
    Ok(Json(Page {
        items: page.into_iter().map(Delivery::from_row).collect(),
        next_cursor: next,
    }))
}

/// One delivery with its attempts.
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Delivery>> {
    let id = parse_delivery_id(&id)?;
    let row = sqlx::query_as!(
        DeliveryRow,
        "SELECT id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, payload FROM webhook_deliveries WHERE id = $1 AND agent_id = $2",
        id,
        auth.agent_id,
    )
        .fetch_optional(&st.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    let attempts = sqlx::query_as!(
        Attempt,
        "SELECT attempt, at, status_code, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
        id,
    )
    .fetch_all(&st.pool)
    .await?;
    let mut d = Delivery::from_row(row);
    d.attempt_log = Some(attempts);
    Ok(Json(d))
}

/// `POST /v1/webhooks/deliveries/{id}/redeliver`: due now again, with a fresh retry schedule.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn redeliver(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Delivery>> {
    let id = parse_delivery_id(&id)?;
    let row = sqlx::query_as!(
        DeliveryRow,
        "UPDATE webhook_deliveries SET status = $4, next_attempt_at = $3,
            schedule_start = attempts, delivered_at = NULL
         WHERE id = $1 AND agent_id = $2 RETURNING id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at, payload",
        id,
        auth.agent_id,
        st.now(),
        DeliveryStatus::Pending.as_str(),
    )
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("delivery"))?;
    st.wake.notify_one();
    Ok(Json(Delivery::from_row(row)))
}
