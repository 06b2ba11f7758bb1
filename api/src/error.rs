//! The one error type of the HTTP layer: client errors carry a stable `code`; internal errors are
//! logged once and shown as an opaque 500.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error: status, stable code, human message.
    #[error("{code}: {message}")]
    Client {
        /// HTTP status (4xx).
        status: StatusCode,
        /// Stable machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// Too many requests; retry after the given seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after: u64,
    },
    /// Anything else: logged, answered as an opaque 500.
    #[error(transparent)]
    Internal(#[from] eyre::Report),
}

impl ApiError {
    /// A client error.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }
    /// 422 `code`.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::client(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    /// 409 `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }
    /// 403 `code`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, code, message)
    }
    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// The human message.
    pub fn message(&self) -> String {
        match self {
            Self::Client { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// A transaction lost to a concurrent one (`40001`, `REPEATABLE READ`): worth running again.
    pub fn is_serialization_failure(&self) -> bool {
        matches!(self, Self::Internal(e) if e.downcast_ref::<sqlx::Error>().is_some_and(|e| {
            matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("40001"))
        }))
    }

    /// The stable code (`internal` for 500s).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Client { code, .. } => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Unique and foreign-key violations become client errors here, and only here.
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && let Some(constraint) = db.constraint()
        {
            match constraint {
                "agents_handle_key" => {
                    return Self::conflict("handle_taken", "this handle is already registered");
                }
                "agent_addresses_pkey" => {
                    return Self::conflict(
                        "address_taken",
                        "this address is already bound to an agent",
                    );
                }
                "listings_chain_id_token_fkey" => {
                    return Self::unprocessable("unknown_token", "token is not accepted here");
                }
                "app_orders_pkey" => {
                    return Self::conflict("order_exists", "this order id is already in use");
                }
                _ => {}
            }
        }
        Self::Internal(eyre::Report::new(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Client {
                status,
                code,
                message,
            } => (status, Json(json!({ "code": code, "message": message }))).into_response(),
            Self::RateLimited { retry_after } => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "code": "rate_limited", "message": format!("too many requests; retry in {retry_after} s") })),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "code": "internal", "message": "internal error" })),
                )
                    .into_response()
            }
        }
    }
}
