//! Bearer API keys: `sk_pact_<64 hex>`, stored as SHA-256 only.

use crate::{AppState, error::ApiError};
use axum::{extract::FromRequestParts, http::request::Parts};
use sha2::{Digest, Sha256};

/// Prefix of every API key.
pub const KEY_PREFIX: &str = "sk_pact_";

/// A new random API key (the only time it exists in clear).
pub fn new_key() -> String {
    format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// SHA-256 of a key.
pub fn key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// The bearer token of a request, if any. The scheme name is case-insensitive (RFC 7235 §2.1:
/// `bearer sk_pact_…` is as valid as `Bearer sk_pact_…`).
pub fn bearer(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn well_formed(token: &str) -> bool {
    token.starts_with(KEY_PREFIX) && token.len() == KEY_PREFIX.len() + 64
}

/// The live key `token` names: (agent id, handle, key id), or none (unknown or revoked).
async fn lookup(
    pool: &sqlx::PgPool,
    token: &str,
) -> crate::error::ApiResult<Option<(i64, String, i64)>> {
    Ok(sqlx::query!(
        "SELECT a.id AS agent_id, a.handle, k.id AS key_id FROM agent_keys k JOIN agents a ON a.id = k.agent_id
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        &key_hash(token),
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.agent_id, r.handle, r.key_id)))
}

/// The key lookup of a request's bearer token, done once: the idempotency layer scopes keys to
/// its agent and leaves it in the request's extensions, where the [`Auth`] extractor takes it
/// instead of querying again.
#[derive(Debug, Clone)]
pub struct KeyLookup(Option<(i64, String, i64)>);

impl KeyLookup {
    /// Looks `token` up (none for a malformed, unknown or revoked key).
    pub async fn of(pool: &sqlx::PgPool, token: &str) -> crate::error::ApiResult<Self> {
        if !well_formed(token) {
            return Ok(Self(None));
        }
        Ok(Self(lookup(pool, token).await?))
    }

    /// The agent the key authenticates.
    pub fn agent(&self) -> Option<i64> {
        self.0.as_ref().map(|(agent, _, _)| *agent)
    }
}

/// An authenticated agent (extracted from `Authorization: Bearer sk_pact_…`).
#[derive(Debug, Clone)]
pub struct Auth {
    /// The agent.
    pub agent_id: i64,
    /// Its handle.
    pub handle: String,
    /// The key used.
    pub key_id: i64,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "missing bearer API key (Authorization: Bearer sk_pact_...)",
            ));
        };
        if !well_formed(token) {
            return Err(ApiError::unauthorized("malformed API key"));
        }
        let row = match parts.extensions.get::<KeyLookup>() {
            Some(KeyLookup(row)) => row.clone(),
            None => lookup(&st.pool, token).await?,
        };
        let Some((agent_id, handle, key_id)) = row else {
            return Err(ApiError::unauthorized("unknown or revoked API key"));
        };
        st.limiter
            .check(
                &format!("key:{key_id}"),
                st.settings.requests_per_key_per_minute,
                60,
                st.now(),
            )
            .await?;
        Ok(Self {
            agent_id,
            handle,
            key_id,
        })
    }
}

/// Authentication when present (public endpoints that show more to a party).
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        if bearer(&parts.headers).is_none() {
            return Ok(Self(None));
        }
        Auth::from_request_parts(parts, st)
            .await
            .map(|a| Self(Some(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;
    use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_required() {
        for v in ["Bearer sk_pact_x", "bearer sk_pact_x", "BEARER  sk_pact_x "] {
            assert_eq!(bearer(&with(v)), Some("sk_pact_x"), "{v}");
        }
        for v in [
            "Basic sk_pact_x",
            "Bearer",
            "Bearer   ",
            "Bearersk_pact_x",
            "Token sk_pact_x",
        ] {
            assert_eq!(bearer(&with(v)), None, "{v}");
        }
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
