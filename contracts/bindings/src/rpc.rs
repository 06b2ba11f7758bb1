//! How the services reach a node: JSON-RPC over HTTP through alloy's [`RetryBackoffLayer`], with
//! [`Transient`] deciding what is sent again. A request that meets a transient fault (the
//! connection refused or reset, a timeout, HTTP 408/429/5xx, a truncated or garbled body, a
//! rate-limit answer) is resent after [`BACKOFF`] (or the delay the node asks for), at most
//! [`RETRIES`] times; any other error reaches the caller at once. Longer outages are the
//! callers' business: their loops retry a failed unit of work with their own backoff.

use alloy::{
    rpc::client::{ClientBuilder, RpcClient},
    transports::{
        RpcError, TransportError, TransportErrorKind,
        http::reqwest,
        layers::{RateLimitRetryPolicy, RetryBackoffLayer, RetryPolicy},
    },
};
use std::{fmt, sync::Arc, time::Duration};
use url::Url;

/// Resends of one request before its error is handed back.
pub const RETRIES: u32 = 10;
/// Pause before each resend, unless the node names one.
pub const BACKOFF: Duration = Duration::from_millis(100);

/// Whether resending the same request may succeed: it failed on the way (connection, timeout,
/// truncated or garbled body), the server was overloaded (HTTP 408, 429, 5xx) or it answered
/// with a rate-limit error. Answers about the request itself (a revert, an invalid parameter,
/// an unknown method) are not transient.
pub fn is_transient(err: &TransportError) -> bool {
    match err {
        RpcError::Transport(kind) => match kind {
            // reqwest could not send the request or read the answer.
            TransportErrorKind::Custom(_) => true,
            TransportErrorKind::HttpError(e) => matches!(e.status, 408 | 429) || e.status >= 500,
            TransportErrorKind::HttpErrorWithRetryAfter { .. }
            | TransportErrorKind::MissingBatchResponse(_) => true,
            _ => false,
        },
        RpcError::DeserError { .. } | RpcError::NullResp => true,
        RpcError::ErrorResp(payload) => payload.is_retry_err(),
        _ => false,
    }
}

/// Whether the request timed out (the HTTP client's per-request timeout).
pub fn is_timeout(err: &TransportError) -> bool {
    matches!(err, RpcError::Transport(TransportErrorKind::Custom(e))
        if e.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_timeout))
}

/// The [`RetryPolicy`] of every Pact RPC client: resends [`is_transient`] failures, except those
/// a caller wants back (an `eth_getLogs` range the node refused or timed out on is split by the
/// indexer, not resent), and reports each resend.
#[derive(Clone, Default)]
pub struct Transient {
    except: Option<fn(&TransportError) -> bool>,
    on_retry: Option<Arc<dyn Fn(&TransportError) + Send + Sync>>,
}

impl Transient {
    /// Hands back the transient failures `except` selects instead of resending them.
    pub fn except(mut self, except: fn(&TransportError) -> bool) -> Self {
        self.except = Some(except);
        self
    }

    /// Calls `f` before each resend (e.g. to count errors).
    pub fn on_retry(mut self, f: impl Fn(&TransportError) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(f));
        self
    }
}

impl fmt::Debug for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transient")
            .field("except", &self.except.is_some())
            .field("on_retry", &self.on_retry.is_some())
            .finish()
    }
}

impl RetryPolicy for Transient {
    fn should_retry(&self, err: &TransportError) -> bool {
        let retry = is_transient(err) && !self.except.is_some_and(|except| except(err));
        if retry {
            tracing::warn!(error = %err, "rpc request failed, resending");
            if let Some(f) = &self.on_retry {
                f(err);
            }
        }
        retry
    }

    /// The delay the node asked for (`Retry-After`, a rate-limit answer), as alloy reads it.
    fn backoff_hint(&self, err: &TransportError) -> Option<Duration> {
        RateLimitRetryPolicy::default().backoff_hint(err)
    }
}

/// An RPC client for `url` resending transient failures under `policy`, each request bounded
/// by `timeout` when given.
pub fn client(
    url: Url,
    timeout: Option<Duration>,
    policy: Transient,
) -> Result<RpcClient, reqwest::Error> {
    let mut http = reqwest::Client::builder();
    if let Some(t) = timeout {
        http = http.timeout(t);
    }
    // `u64::MAX` compute units per second: no client-side rate budget, only the resends.
    let retry =
        RetryBackoffLayer::new_with_policy(RETRIES, BACKOFF.as_millis() as u64, u64::MAX, policy);
    Ok(ClientBuilder::default()
        .layer(retry)
        .http_with_client(http.build()?, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> TransportError {
        TransportErrorKind::http_error(status, String::new())
    }

    fn answer(code: i64, message: &str) -> TransportError {
        TransportError::ErrorResp(
            serde_json::from_value(serde_json::json!({ "code": code, "message": message }))
                .unwrap(),
        )
    }

    #[test]
    fn faults_on_the_way_are_transient_answers_about_the_request_are_not() {
        for (err, transient) in [
            (http(503), true),
            (http(502), true),
            (http(429), true),
            (http(408), true),
            (http(404), false),
            (http(413), false),
            (TransportErrorKind::custom_str("connection reset"), true),
            (
                TransportError::deser_err(
                    serde_json::from_str::<u8>("{").unwrap_err(),
                    "{\"jsonrpc\":\"2.0\",\"res",
                ),
                true,
            ),
            (TransportError::NullResp, true),
            (answer(429, "too many requests"), true),
            (answer(-32000, "header not found"), true),
            (answer(3, "execution reverted"), false),
            (answer(-32602, "invalid params"), false),
            (answer(-32601, "the method does not exist"), false),
            (answer(-32000, "nonce too low"), false),
            (
                TransportError::SerError(serde_json::from_str::<u8>("x").unwrap_err()),
                false,
            ),
        ] {
            assert_eq!(is_transient(&err), transient, "{err}");
        }
    }

    #[test]
    fn the_policy_hands_back_what_the_caller_excepts_and_reports_resends() {
        let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = seen.clone();
        let policy = Transient::default()
            .except(|e| matches!(e, RpcError::Transport(TransportErrorKind::HttpError(h)) if h.status == 503))
            .on_retry(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        assert!(!policy.should_retry(&http(503)), "excepted");
        assert!(policy.should_retry(&http(502)));
        assert!(!policy.should_retry(&answer(3, "execution reverted")));
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
