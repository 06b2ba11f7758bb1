//! Signed webhooks from a PostgreSQL outbox.
//!
//! Events are inserted into `webhook_deliveries` in the same transaction as the change they
//! announce. A worker takes due rows with `FOR UPDATE SKIP LOCKED`, POSTs them signed with
//! HMAC-SHA256 over `timestamp + "." + body`, and on failure retries after 1 m, 5 m, 30 m, 2 h and
//! 12 h, then dead-letters the row. Delivery is at-least-once; receivers dedupe on
//! `X-Pact-Delivery`.

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
use std::net::IpAddr;

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

struct Due {
    id: i64,
    event: String,
    payload: Value,
    attempts: i32,
    schedule_start: i32,
    created_at: i64,
    url: Option<String>,
    secret: Option<String>,
}

/// Outcome of one attempt: `Ok(status)` for a 2xx, `Err((status, error))` otherwise.
async fn attempt(st: &AppState, d: &Due, now: i64) -> Result<u16, (Option<u16>, String)> {
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

/// Delivers up to `batch` due deliveries; returns how many were attempted.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn deliver_due(st: &AppState, batch: i64) -> ApiResult<usize> {
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let due = sqlx::query_as!(
        Due,
        "SELECT d.id, d.event, d.payload, d.attempts, d.schedule_start, d.created_at,
                a.webhook_url AS url, a.webhook_secret AS secret
         FROM webhook_deliveries d JOIN agents a ON a.id = d.agent_id
         WHERE d.status = $3 AND d.next_attempt_at <= $1
         ORDER BY d.next_attempt_at, d.id LIMIT $2
         FOR UPDATE OF d SKIP LOCKED",
        now,
        batch,
        DeliveryStatus::Pending.as_str(),
    )
    .fetch_all(&mut *tx)
    .await?;
    let outcomes = futures::future::join_all(due.iter().map(|d| attempt(st, d, now))).await;
    for (d, outcome) in due.iter().zip(outcomes) {
        let n = d.attempts + 1;
        let (status_code, error) = match &outcome {
            Ok(s) => (Some(*s), None),
            Err((s, e)) => (*s, Some(e.clone())),
        };
        sqlx::query!(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            d.id,
            n,
            now,
            status_code.map(i32::from),
            error.as_deref(),
        )
        .execute(&mut *tx)
        .await?;
        match outcome {
            Ok(_) => {
                sqlx::query!(
                    "UPDATE webhook_deliveries SET status = $5, attempts = $2,
                        last_status = $3, last_error = NULL, delivered_at = $4 WHERE id = $1",
                    d.id,
                    n,
                    status_code.map(i32::from),
                    now,
                    DeliveryStatus::Delivered.as_str(),
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(_) => {
                let (status, next) = match RETRY_SCHEDULE.get((n - d.schedule_start - 1) as usize) {
                    Some(delay) => (DeliveryStatus::Pending, now + delay),
                    None => (DeliveryStatus::Dead, now),
                };
                tracing::info!(
                    delivery = d.id,
                    attempt = n,
                    status = status.as_str(),
                    "webhook attempt failed"
                );
                sqlx::query!(
                    "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
                        last_status = $5, last_error = $6 WHERE id = $1",
                    d.id,
                    status.as_str(),
                    n,
                    next,
                    status_code.map(i32::from),
                    error.as_deref(),
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(due.len())
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

/// The worker: deadline scan, due deliveries, old idempotency keys and rate limit windows; woken by new work or polls.
pub async fn run_worker(st: AppState) {
    loop {
        if let Err(e) = scan_deadlines(&st).await {
            tracing::warn!(error = %e, "deadline scan failed");
        }
        loop {
            match deliver_due(&st, 16).await {
                Ok(16) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery failed");
                    break;
                }
            }
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
        tokio::select! {
            _ = st.wake.notified() => {}
            _ = tokio::time::sleep(st.settings.worker_poll) => {}
        }
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
