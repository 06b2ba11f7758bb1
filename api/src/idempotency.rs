//! `Idempotency-Key` on POST/PATCH: the same key and body replay the first response without
//! reapplying; the same key with another body is `422 idempotency_key_reused`.
//!
//! Authentication comes first: a request with a bearer key that is malformed, unknown or revoked,
//! or without one on an authenticated operation, passes straight to its handler (which answers
//! 401) and stores nothing. Keys are scoped to the **agent** (every key of one agent shares them),
//! or to the client IP on the public writes (`auth: none` in [`crate::openapi::OPERATIONS`]:
//! registration). Only successful outcomes are stored: a 4xx changed nothing and a 5xx or 429 is
//! not an outcome, so the key stays free for a corrected or later retry. Responses that
//! carry a secret (new API keys, webhook secrets) are stored redacted: handlers attach the
//! redacted body as a [`Redacted`] extension, so no secret ever sits in this table.

use crate::{AppState, auth, error::ApiError};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

/// The body to store for replays instead of the real one (which carries a secret).
#[derive(Debug, Clone)]
pub struct Redacted(pub serde_json::Value);

/// The client IP (when the service runs with connect info).
pub fn client_ip(req_ext: &axum::http::Extensions) -> String {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A write that needs no credentials (`auth: none`), so its keys are scoped to the client IP.
fn public_write(method: &Method, path: &str) -> bool {
    crate::openapi::OPERATIONS.iter().any(|o| {
        o.auth() == "none" && o.path == path && o.method.eq_ignore_ascii_case(method.as_str())
    })
}

/// Whether requests of `method` honour `Idempotency-Key` (the writes with a body: POST, PATCH).
/// The OpenAPI document declares the header exactly on these operations.
pub fn honours(method: &str) -> bool {
    method.eq_ignore_ascii_case("post") || method.eq_ignore_ascii_case("patch")
}

/// The middleware.
pub async fn idempotency(State(st): State<AppState>, req: Request, next: Next) -> Response {
    match run(st, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(st: AppState, mut req: Request, next: Next) -> Result<Response, ApiError> {
    if !honours(req.method().as_str()) {
        return Ok(next.run(req).await);
    }
    let Some(key) = req.headers().get("idempotency-key").cloned() else {
        return Ok(next.run(req).await);
    };
    let scope = match auth::bearer(req.headers()) {
        Some(token) => {
            let found = auth::KeyLookup::of(&st.pool, token).await?;
            let agent = found.agent();
            req.extensions_mut().insert(found); // the extractor reuses it
            match agent {
                Some(agent) => format!("agent:{agent}"),
                None => return Ok(next.run(req).await),
            }
        }
        None if public_write(req.method(), req.uri().path()) => {
            format!("ip:{}", client_ip(req.extensions()))
        }
        None => return Ok(next.run(req).await),
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        })?
        .to_string();
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, st.settings.body_limit)
        .await
        .map_err(|_| {
            ApiError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("body exceeds {} bytes", st.settings.body_limit),
            )
        })?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.to_string().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = h.finalize().to_vec();

    let mut inserted = sqlx::query!(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &scope,
        &key,
        &request_hash,
        st.now(),
    )
    .execute(&st.pool)
    .await?
    .rows_affected()
        == 1;

    if !inserted {
        // A first request that never finished (crash, dropped connection) is taken over after
        // a minute.
        inserted = sqlx::query!(
            "UPDATE idempotency_keys SET created_at = $4
             WHERE scope = $1 AND key = $2 AND request_hash = $3 AND status_code IS NULL
               AND created_at < $4::BIGINT - 60",
            &scope,
            &key,
            &request_hash,
            st.now(),
        )
        .execute(&st.pool)
        .await?
        .rows_affected()
            == 1;
    }

    if !inserted {
        let (stored_hash, status, body): (Vec<u8>, Option<i32>, Option<Vec<u8>>) = sqlx::query!(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys
             WHERE scope = $1 AND key = $2",
            &scope,
            &key,
        )
        .fetch_one(&st.pool)
        .await
        .map(|r| (r.request_hash, r.status_code, r.response_body))?;
        if stored_hash != request_hash {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let (Some(status), Some(body)) = (status, body) else {
            return Err(ApiError::conflict(
                "idempotency_in_progress",
                "the first request with this Idempotency-Key is still running",
            ));
        };
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(resp);
    }

    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = resp.status();
    if status.is_client_error() || status.is_server_error() {
        // A 4xx changed nothing; a 5xx or 429 is not an outcome: the key stays free for a retry.
        sqlx::query!(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2",
            &scope,
            &key,
        )
        .execute(&st.pool)
        .await?;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .map_err(|e| eyre::eyre!("reading response body: {e}"))?;
    let stored = match parts.extensions.get::<Redacted>() {
        Some(Redacted(v)) => serde_json::to_vec(v).map_err(|e| eyre::eyre!(e))?,
        None => bytes.to_vec(),
    };
    sqlx::query!(
        "UPDATE idempotency_keys SET status_code = $3, response_body = $4 WHERE scope = $1 AND key = $2",
        &scope,
        &key,
        i32::from(status.as_u16()),
        stored,
    )
    .execute(&st.pool)
    .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
