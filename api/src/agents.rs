//! Agents: registration (a key shown once), profile, key rotation and revocation.

use crate::{
    AppState,
    auth::{self, Auth},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    idempotency::{Redacted, client_ip},
    types::{Handle, hex0x, text},
    webhooks,
};
use axum::{
    Json,
    extract::State,
    http::{Extensions, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/agents/register` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    handle: String,
    display_name: String,
    #[serde(default)]
    webhook_url: Option<String>,
}

fn new_webhook_secret() -> String {
    format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Registers an agent; the API key (and webhook secret) are in this response only.
#[tracing::instrument(skip_all, fields(handle = %body.handle), err(Debug))]
pub async fn register(
    State(st): State<AppState>,
    ext: Extensions,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<Response> {
    let ip = client_ip(&ext);
    st.limiter.check(
        &format!("register:{ip}"),
        st.settings.register_per_ip_per_hour,
        3600,
        st.now(),
    )?;
    let handle = Handle::parse(&body.handle)?;
    let display_name = text("display_name", &body.display_name, 1, 80)?;
    let webhook_url = body
        .webhook_url
        .as_deref()
        .map(|u| webhooks::validate_url(u, st.settings.allow_private_webhooks))
        .transpose()?;
    let secret = webhook_url.as_ref().map(|_| new_webhook_secret());
    let key = auth::new_key();
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let (agent_id,): (i64,) = sqlx::query_as(
        "INSERT INTO agents (handle, display_name, webhook_url, webhook_secret, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(handle.as_str())
    .bind(&display_name)
    .bind(&webhook_url)
    .bind(&secret)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let (key_id,): (i64,) = sqlx::query_as(
        "INSERT INTO agent_keys (agent_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(agent_id)
    .bind(auth::key_hash(&key))
    .bind(&key[..12])
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(agent_id, "agent registered");
    let agent = json!({
        "handle": handle.as_str(),
        "display_name": display_name,
        "webhook_url": webhook_url,
        "created_at": now,
    });
    let body = json!({
        "agent": agent,
        "api_key": key,
        "key_id": key_id,
        "webhook_secret": secret,
    });
    let redacted = json!({
        "agent": agent,
        "api_key": null,
        "key_id": key_id,
        "webhook_secret": null,
        "note": "replayed: secrets are only shown in the first response",
    });
    Ok(with_secret(StatusCode::CREATED, body, redacted))
}

/// A JSON response whose idempotent replay shows `redacted` instead.
pub fn with_secret(status: StatusCode, body: Value, redacted: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.extensions_mut().insert(Redacted(redacted));
    r
}

/// The bound addresses of an agent.
pub async fn addresses_of(st: &AppState, agent_id: i64) -> ApiResult<Vec<Value>> {
    let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT address, bound_at FROM agent_addresses WHERE agent_id = $1 ORDER BY bound_at, address",
    )
    .bind(agent_id)
    .fetch_all(&st.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(a, at)| json!({ "address": hex0x(&a), "bound_at": at }))
        .collect())
}

/// `GET /v1/agents/me`.
pub async fn me(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let (display_name, webhook_url, created_at): (String, Option<String>, i64) =
        sqlx::query_as("SELECT display_name, webhook_url, created_at FROM agents WHERE id = $1")
            .bind(auth.agent_id)
            .fetch_one(&st.pool)
            .await?;
    Ok(Json(json!({
        "handle": auth.handle,
        "display_name": display_name,
        "webhook_url": webhook_url,
        "created_at": created_at,
        "addresses": addresses_of(&st, auth.agent_id).await?,
    })))
}

/// `PATCH /v1/agents/me` body. `webhook_url: null` removes the webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default, with = "double_option")]
    webhook_url: Option<Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// `PATCH /v1/agents/me`: display name and webhook URL (a new URL gets a new secret, shown once).
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(Debug))]
pub async fn patch_me(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PatchMe>,
) -> ApiResult<Response> {
    let mut secret = None;
    if let Some(name) = &body.display_name {
        let name = text("display_name", name, 1, 80)?;
        sqlx::query("UPDATE agents SET display_name = $2 WHERE id = $1")
            .bind(auth.agent_id)
            .bind(name)
            .execute(&st.pool)
            .await?;
    }
    match &body.webhook_url {
        Some(Some(url)) => {
            let url = webhooks::validate_url(url, st.settings.allow_private_webhooks)?;
            let s = new_webhook_secret();
            sqlx::query("UPDATE agents SET webhook_url = $2, webhook_secret = $3 WHERE id = $1")
                .bind(auth.agent_id)
                .bind(url)
                .bind(&s)
                .execute(&st.pool)
                .await?;
            secret = Some(s);
        }
        Some(None) => {
            sqlx::query(
                "UPDATE agents SET webhook_url = NULL, webhook_secret = NULL WHERE id = $1",
            )
            .bind(auth.agent_id)
            .execute(&st.pool)
            .await?;
        }
        None => {}
    }
    let me = me(State(st), auth).await?.0;
    let body = json!({ "agent": me, "webhook_secret": secret });
    let redacted = json!({ "agent": me, "webhook_secret": null });
    Ok(with_secret(StatusCode::OK, body, redacted))
}

/// `GET /v1/agents/{handle}`: public profile with bound addresses and mirrored identity.
pub async fn profile(
    State(st): State<AppState>,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let handle = Handle::parse(&handle).map_err(|_| ApiError::not_found("agent"))?;
    let row: Option<(i64, String, i64)> =
        sqlx::query_as("SELECT id, display_name, created_at FROM agents WHERE handle = $1")
            .bind(handle.as_str())
            .fetch_optional(&st.pool)
            .await?;
    let Some((id, display_name, created_at)) = row else {
        return Err(ApiError::not_found("agent"));
    };
    Ok(Json(json!({
        "handle": handle.as_str(),
        "display_name": display_name,
        "created_at": created_at,
        "addresses": addresses_of(&st, id).await?,
        "identities": mirrored_identities(&st, id).await?,
    })))
}

/// Identity records (home registry and satellite Lites) whose wallet is one of the agent's bound
/// addresses, with their bonds, as the indexer projects them. Empty when the indexer's identity
/// tables are absent. Bond amounts are in base units of the stake token.
pub async fn mirrored_identities(st: &AppState, agent_id: i64) -> ApiResult<Vec<Value>> {
    let (present,): (bool,) = sqlx::query_as(
        "SELECT to_regclass('identities') IS NOT NULL AND to_regclass('lite_identities') IS NOT NULL
            AND to_regclass('stake_bonds') IS NOT NULL AND to_regclass('lite_bonds') IS NOT NULL",
    )
    .fetch_one(&st.pool)
    .await?;
    if !present {
        return Ok(vec![]);
    }
    let rows: Vec<IdentityRow> = sqlx::query_as(
        "WITH w AS (SELECT address FROM agent_addresses WHERE agent_id = $1)
         SELECT 'registry' AS source, i.chain_id, i.id, i.owner, i.wallet, i.entity_type, i.status,
                b.amount::text AS bond, b.unbonding::text AS unbonding
         FROM identities i LEFT JOIN stake_bonds b ON b.chain_id = i.chain_id AND b.id = i.id
         WHERE i.wallet IN (SELECT address FROM w)
         UNION ALL
         SELECT 'lite', l.chain_id, l.id, l.owner, l.wallet, l.entity_type,
                CASE l.status WHEN 1 THEN 'ACTIVE' WHEN 2 THEN 'SUSPENDED' WHEN 3 THEN 'REVOKED' ELSE 'UNKNOWN' END,
                lb.amount::text, lb.unbonding::text
         FROM lite_identities l LEFT JOIN lite_bonds lb ON lb.chain_id = l.chain_id AND lb.id = l.id
         WHERE l.wallet IN (SELECT address FROM w)
         ORDER BY 1 DESC, 2, 3",
    )
    .bind(agent_id)
    .fetch_all(&st.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({
                "source": r.0,
                "chain_id": r.1,
                "id": hex0x(&r.2),
                "owner": hex0x(&r.3),
                "wallet": hex0x(&r.4),
                "entity_type": match r.5 { 1 => "agent", 2 => "machine", _ => "unknown" },
                "status": r.6,
                "bond": r.7.map(|amount| json!({ "amount_base_units": amount, "unbonding_base_units": r.8 })),
            })
        })
        .collect())
}

type IdentityRow = (
    String,
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    i16,
    String,
    Option<String>,
    Option<String>,
);

/// `GET /v1/agents/me/keys`.
pub async fn list_keys(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, prefix, created_at, revoked_at FROM agent_keys WHERE agent_id = $1 ORDER BY id",
    )
    .bind(auth.agent_id)
    .fetch_all(&st.pool)
    .await?;
    let keys: Vec<Value> = rows
        .into_iter()
        .map(|(id, prefix, c, r)| {
            json!({ "key_id": id, "prefix": prefix, "created_at": c, "revoked_at": r,
                    "current": id == auth.key_id })
        })
        .collect();
    Ok(Json(json!({ "keys": keys })))
}

async fn issue_key(st: &AppState, agent_id: i64, revoke: Option<i64>) -> ApiResult<Response> {
    let key = auth::new_key();
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let (key_id,): (i64,) = sqlx::query_as(
        "INSERT INTO agent_keys (agent_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(agent_id)
    .bind(auth::key_hash(&key))
    .bind(&key[..12])
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(old) = revoke {
        sqlx::query("UPDATE agent_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(old)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(with_secret(
        StatusCode::CREATED,
        json!({ "key_id": key_id, "api_key": key, "revoked_key_id": revoke }),
        json!({ "key_id": key_id, "api_key": null, "revoked_key_id": revoke }),
    ))
}

/// `POST /v1/agents/me/keys`: an additional key.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(Debug))]
pub async fn create_key(State(st): State<AppState>, auth: Auth) -> ApiResult<Response> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM agent_keys WHERE agent_id = $1 AND revoked_at IS NULL",
    )
    .bind(auth.agent_id)
    .fetch_one(&st.pool)
    .await?;
    if n >= 10 {
        return Err(ApiError::unprocessable(
            "too_many_keys",
            "an agent may hold at most 10 active keys",
        ));
    }
    issue_key(&st, auth.agent_id, None).await
}

/// `POST /v1/agents/me/keys/rotate`: a new key; the calling key is revoked.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(Debug))]
pub async fn rotate_key(State(st): State<AppState>, auth: Auth) -> ApiResult<Response> {
    issue_key(&st, auth.agent_id, Some(auth.key_id)).await
}

/// `DELETE /v1/agents/me/keys/{key_id}`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(Debug))]
pub async fn revoke_key(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(key_id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let n = sqlx::query(
        "UPDATE agent_keys SET revoked_at = $3 WHERE id = $1 AND agent_id = $2 AND revoked_at IS NULL",
    )
    .bind(key_id)
    .bind(auth.agent_id)
    .bind(st.now())
    .execute(&st.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("active key"));
    }
    Ok(StatusCode::NO_CONTENT)
}
