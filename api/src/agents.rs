//! Agents: registration (a key shown once), profile, key rotation and revocation.

use crate::{
    AppState,
    auth::{self, Auth},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    idempotency::client_ip,
    reply::{Created, NoContent, ShownOnce},
    types::{Handle, hex0x, text},
    webhooks,
};
use axum::{Json, extract::State, http::Extensions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/agents/register` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// 3-32 characters of a-z, 0-9, `_` or `-`, starting with a letter; unique.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]{2,31}$"))]
    handle: String,
    /// 1-80 characters.
    display_name: String,
    /// Where webhooks go (http or https); its signing secret is in the response, once.
    #[serde(default)]
    webhook_url: Option<String>,
}

/// An agent as registered.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewAgent {
    /// The handle.
    pub handle: String,
    /// The display name.
    pub display_name: String,
    /// The webhook URL, if any.
    pub webhook_url: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// `POST /v1/agents/register` response.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Registered {
    /// The new agent.
    pub agent: NewAgent,
    /// The API key (`sk_pact_…`), shown in this response only (`null` in an idempotent replay).
    pub api_key: Option<String>,
    /// Id of the key.
    pub key_id: i64,
    /// The webhook signing secret (`whsec_…`), shown once; `null` without a webhook or in a replay.
    pub webhook_secret: Option<String>,
    /// Set in an idempotent replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn new_webhook_secret() -> String {
    format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Registers an agent; the API key (and webhook secret) are in this response only.
#[tracing::instrument(skip_all, fields(handle = %body.handle), err(level = "info", Debug))]
pub async fn register(
    State(st): State<AppState>,
    ext: Extensions,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<ShownOnce<Created<Registered>>> {
    let ip = client_ip(&ext);
    st.limiter
        .check(
            &format!("register:{ip}"),
            st.settings.register_per_ip_per_hour,
            3600,
            st.now(),
        )
        .await?;
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
    let agent_id = sqlx::query_scalar!(
        "INSERT INTO agents (handle, display_name, webhook_url, webhook_secret, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        handle.as_str(),
        &display_name,
        webhook_url.as_deref(),
        secret.as_deref(),
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    let key_id = sqlx::query_scalar!(
        "INSERT INTO agent_keys (agent_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        agent_id,
        &auth::key_hash(&key),
        &key[..12],
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(agent_id, "agent registered");
    let agent = NewAgent {
        handle: handle.as_str().to_string(),
        display_name,
        webhook_url,
        created_at: now,
    };
    let redacted = Registered {
        agent: agent.clone(),
        api_key: None,
        key_id,
        webhook_secret: None,
        note: Some("replayed: secrets are only shown in the first response".into()),
    };
    let body = Registered {
        agent,
        api_key: Some(key),
        key_id,
        webhook_secret: secret,
        note: None,
    };
    Ok(ShownOnce::new(Created(body), &redacted))
}

/// An address bound to an agent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BoundAddress {
    /// `0x` + 40 lowercase hex digits.
    pub address: String,
    /// Unix seconds.
    pub bound_at: i64,
}

/// The bound addresses of an agent.
pub async fn addresses_of(st: &AppState, agent_id: i64) -> ApiResult<Vec<BoundAddress>> {
    let rows = sqlx::query!(
        "SELECT address, bound_at FROM agent_addresses WHERE agent_id = $1 ORDER BY bound_at, address",
        agent_id,
    )
    .fetch_all(&st.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BoundAddress {
            address: hex0x(&r.address),
            bound_at: r.bound_at,
        })
        .collect())
}

/// The calling agent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Me {
    /// The handle.
    pub handle: String,
    /// The display name.
    pub display_name: String,
    /// The webhook URL, if any.
    pub webhook_url: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Bound wallet addresses.
    pub addresses: Vec<BoundAddress>,
    /// Bound MOI participants.
    pub moi_participants: Vec<crate::moi::BoundParticipant>,
}

/// `GET /v1/agents/me`.
pub async fn me(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<Me>> {
    let row = sqlx::query!(
        "SELECT display_name, webhook_url, created_at FROM agents WHERE id = $1",
        auth.agent_id,
    )
    .fetch_one(&st.pool)
    .await?;
    let (display_name, webhook_url, created_at) =
        (row.display_name, row.webhook_url, row.created_at);
    let addresses = addresses_of(&st, auth.agent_id).await?;
    Ok(Json(Me {
        handle: auth.handle,
        display_name,
        webhook_url,
        created_at,
        addresses,
        moi_participants: crate::moi::participants_of(&st, auth.agent_id).await?,
    }))
}

/// `PATCH /v1/agents/me` body. `webhook_url: null` removes the webhook.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// 1-80 characters.
    #[serde(default)]
    display_name: Option<String>,
    /// A new webhook URL (gets a new secret, shown once), or `null` to remove the webhook.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schemars(with = "Option<String>")]
    webhook_url: Option<Option<String>>,
}

/// `PATCH /v1/agents/me` response.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MeUpdated {
    /// The agent after the change.
    pub agent: Me,
    /// The new webhook secret when the URL changed (shown once), else `null`.
    pub webhook_secret: Option<String>,
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
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn patch_me(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PatchMe>,
) -> ApiResult<ShownOnce<Json<MeUpdated>>> {
    let mut secret = None;
    if let Some(name) = &body.display_name {
        let name = text("display_name", name, 1, 80)?;
        sqlx::query!(
            "UPDATE agents SET display_name = $2 WHERE id = $1",
            auth.agent_id,
            name,
        )
        .execute(&st.pool)
        .await?;
    }
    match &body.webhook_url {
        Some(Some(url)) => {
            let url = webhooks::validate_url(url, st.settings.allow_private_webhooks)?;
            let s = new_webhook_secret();
            sqlx::query!(
                "UPDATE agents SET webhook_url = $2, webhook_secret = $3 WHERE id = $1",
                auth.agent_id,
                url,
                &s,
            )
            .execute(&st.pool)
            .await?;
            secret = Some(s);
        }
        Some(None) => {
            sqlx::query!(
                "UPDATE agents SET webhook_url = NULL, webhook_secret = NULL WHERE id = $1",
                auth.agent_id,
            )
            .execute(&st.pool)
            .await?;
        }
        None => {}
    }
    let me = me(State(st), auth).await?.0;
    let redacted = MeUpdated {
        agent: me.clone(),
        webhook_secret: None,
    };
    let body = MeUpdated {
        agent: me,
        webhook_secret: secret,
    };
    Ok(ShownOnce::new(Json(body), &redacted))
}

/// A public agent profile.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Profile {
    /// The handle.
    pub handle: String,
    /// The display name.
    pub display_name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Bound wallet addresses.
    pub addresses: Vec<BoundAddress>,
    /// Bound MOI participants (each proved by a signature of its MOI key).
    pub moi_participants: Vec<crate::moi::BoundParticipant>,
    /// Identity records of the bound addresses, as the indexer mirrors them.
    pub identities: Vec<MirroredIdentity>,
}

/// An identity record (home registry or a satellite Lite) of a bound address.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MirroredIdentity {
    /// `registry` (home chain) or `lite` (satellite mirror).
    pub source: String,
    /// Chain of the record.
    pub chain_id: i64,
    /// Identity id, `0x`-hex.
    pub id: String,
    /// Owner address.
    pub owner: String,
    /// Wallet address.
    pub wallet: String,
    /// `agent`, `machine` or `unknown`.
    pub entity_type: String,
    /// Status, e.g. `ACTIVE`.
    pub status: String,
    /// The stake bond, if any (base units of the stake token).
    pub bond: Option<Bond>,
}

/// A stake bond.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bond {
    /// Bonded amount, base units.
    pub amount_base_units: String,
    /// Amount unbonding, base units.
    pub unbonding_base_units: Option<String>,
}

/// `GET /v1/agents/{handle}`: public profile with bound addresses and mirrored identity.
pub async fn profile(
    State(st): State<AppState>,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<Json<Profile>> {
    let handle = Handle::parse(&handle).map_err(|_| ApiError::not_found("agent"))?;
    let row = sqlx::query!(
        "SELECT id, display_name, created_at FROM agents WHERE handle = $1",
        handle.as_str(),
    )
    .fetch_optional(&st.pool)
    .await?
    .map(|r| (r.id, r.display_name, r.created_at));
    let Some((id, display_name, created_at)) = row else {
        return Err(ApiError::not_found("agent"));
    };
    Ok(Json(Profile {
        handle: handle.as_str().to_string(),
        display_name,
        created_at,
        addresses: addresses_of(&st, id).await?,
        moi_participants: crate::moi::participants_of(&st, id).await?,
        identities: mirrored_identities(&st, id).await?,
    }))
}

/// Identity records (home registry and satellite Lites) whose wallet is one of the agent's bound
/// addresses, with their bonds, as the indexer projects them. Empty when the indexer's identity
/// tables are absent. Bond amounts are in base units of the stake token.
pub async fn mirrored_identities(st: &AppState, agent_id: i64) -> ApiResult<Vec<MirroredIdentity>> {
    let present = sqlx::query_scalar!(
        r#"SELECT to_regclass('identities') IS NOT NULL AND to_regclass('lite_identities') IS NOT NULL
            AND to_regclass('stake_bonds') IS NOT NULL AND to_regclass('lite_bonds') IS NOT NULL
            AS "present!""#,
    )
    .fetch_one(&st.pool)
    .await?;
    if !present {
        return Ok(vec![]);
    }
    let rows = sqlx::query!(
        r#"WITH w AS (SELECT address FROM agent_addresses WHERE agent_id = $1)
         SELECT 'registry' AS "source!", i.chain_id AS "chain_id!", i.id AS "id!", i.owner AS "owner!",
                i.wallet AS "wallet!", i.entity_type AS "entity_type!", i.status AS "status!",
                b.amount::text AS "bond?", b.unbonding::text AS "unbonding?"
         FROM identities i LEFT JOIN stake_bonds b ON b.chain_id = i.chain_id AND b.id = i.id
         WHERE i.wallet IN (SELECT address FROM w)
         UNION ALL
         SELECT 'lite', l.chain_id, l.id, l.owner, l.wallet, l.entity_type,
                CASE l.status WHEN 1 THEN 'ACTIVE' WHEN 2 THEN 'SUSPENDED' WHEN 3 THEN 'REVOKED' ELSE 'UNKNOWN' END,
                lb.amount::text, lb.unbonding::text
         FROM lite_identities l LEFT JOIN lite_bonds lb ON lb.chain_id = l.chain_id AND lb.id = l.id
         WHERE l.wallet IN (SELECT address FROM w)
         ORDER BY 1 DESC, 2, 3"#,
        agent_id,
    )
    .fetch_all(&st.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MirroredIdentity {
            source: r.source,
            chain_id: r.chain_id,
            id: hex0x(&r.id),
            owner: hex0x(&r.owner),
            wallet: hex0x(&r.wallet),
            entity_type: match r.entity_type {
                1 => "agent",
                2 => "machine",
                _ => "unknown",
            }
            .into(),
            status: r.status,
            bond: r.bond.map(|amount| Bond {
                amount_base_units: amount,
                unbonding_base_units: r.unbonding,
            }),
        })
        .collect())
}

/// The agent's API keys.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Keys {
    /// Every key, oldest first.
    pub keys: Vec<KeyInfo>,
}

/// An API key (never the key itself).
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyInfo {
    /// Id of the key.
    pub key_id: i64,
    /// The first characters of the key.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// Whether this is the key of the request.
    pub current: bool,
}

/// A newly issued key.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NewKey {
    /// Id of the key.
    pub key_id: i64,
    /// The key, shown in this response only (`null` in an idempotent replay).
    pub api_key: Option<String>,
    /// The key revoked by a rotation.
    pub revoked_key_id: Option<i64>,
}

/// `GET /v1/agents/me/keys`.
pub async fn list_keys(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<Keys>> {
    let rows = sqlx::query!(
        "SELECT id, prefix, created_at, revoked_at FROM agent_keys WHERE agent_id = $1 ORDER BY id",
        auth.agent_id,
    )
    .fetch_all(&st.pool)
    .await?;
    let keys = rows
        .into_iter()
        .map(|r| KeyInfo {
            key_id: r.id,
            prefix: r.prefix,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            current: r.id == auth.key_id,
        })
        .collect();
    Ok(Json(Keys { keys }))
}

async fn issue_key(
    st: &AppState,
    agent_id: i64,
    revoke: Option<i64>,
) -> ApiResult<ShownOnce<Created<NewKey>>> {
    let key = auth::new_key();
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let key_id = sqlx::query_scalar!(
        "INSERT INTO agent_keys (agent_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        agent_id,
        &auth::key_hash(&key),
        &key[..12],
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(old) = revoke {
        sqlx::query!(
            "UPDATE agent_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            old,
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(ShownOnce::new(
        Created(NewKey {
            key_id,
            api_key: Some(key),
            revoked_key_id: revoke,
        }),
        &NewKey {
            key_id,
            api_key: None,
            revoked_key_id: revoke,
        },
    ))
}

/// `POST /v1/agents/me/keys`: an additional key.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn create_key(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<ShownOnce<Created<NewKey>>> {
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM agent_keys WHERE agent_id = $1 AND revoked_at IS NULL"#,
        auth.agent_id,
    )
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
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn rotate_key(
    State(st): State<AppState>,
    auth: Auth,
) -> ApiResult<ShownOnce<Created<NewKey>>> {
    issue_key(&st, auth.agent_id, Some(auth.key_id)).await
}

/// `DELETE /v1/agents/me/keys/{key_id}`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn revoke_key(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(key_id): ApiPath<i64>,
) -> ApiResult<NoContent> {
    let n = sqlx::query!(
        "UPDATE agent_keys SET revoked_at = $3 WHERE id = $1 AND agent_id = $2 AND revoked_at IS NULL",
        key_id,
        auth.agent_id,
        st.now(),
    )
    .execute(&st.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("active key"));
    }
    Ok(NoContent)
}
