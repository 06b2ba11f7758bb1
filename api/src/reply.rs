//! The success replies of the handlers, typed: the status is part of the type, so the OpenAPI
//! document reads each operation's success status and body schema from its handler's return
//! type ([`crate::openapi`]) instead of from a hand-written row.

use crate::idempotency::Redacted;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// `201 Created` with a JSON body.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

/// `204 No Content`.
#[derive(Debug, Clone, Copy)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// A reply that shows a secret once: an idempotent replay of the request answers `redacted`
/// instead (the idempotency layer stores only the redacted body, see [`Redacted`]).
#[derive(Debug)]
pub struct ShownOnce<R> {
    reply: R,
    redacted: serde_json::Value,
}

impl<R> ShownOnce<R> {
    /// `reply` now; `redacted` (the same type as the reply's body, without the secrets) on replays.
    pub fn new<T: Serialize>(reply: R, redacted: &T) -> Self {
        Self {
            reply,
            redacted: serde_json::to_value(redacted).unwrap_or_default(),
        }
    }
}

impl<R: IntoResponse> IntoResponse for ShownOnce<R> {
    fn into_response(self) -> Response {
        let mut r = self.reply.into_response();
        r.extensions_mut().insert(Redacted(self.redacted));
        r
    }
}
