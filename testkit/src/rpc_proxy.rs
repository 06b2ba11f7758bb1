//! A fault-injecting JSON-RPC proxy in front of a real node, for testing that clients survive a
//! flaky RPC: HTTP 429 and 503 answers, delays, truncated bodies, `eth_getLogs` refusals
//! ("query returned more than N results") like hosted providers send, and `eth_getLogs` over
//! long ranges that stall (a node that times out on large ranges).

use alloy::transports::http::reqwest;
use axum::{
    Router, body::Bytes, extract::State, http::StatusCode, response::IntoResponse, routing::post,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// What the proxy does to requests (probabilities per request, 0.0..=1.0).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer HTTP 503 without forwarding.
    pub server_error: f64,
    /// Answer HTTP 429 without forwarding.
    pub rate_limited: f64,
    /// Forward, but cut the response body in half (a truncated body).
    pub truncated: f64,
    /// Delay the answer by `delay`.
    pub delayed: f64,
    /// The delay of a delayed answer.
    pub delay: Duration,
    /// Refuse `eth_getLogs` answers holding more than this many logs.
    pub max_logs: Option<usize>,
    /// Hold `eth_getLogs` requests over more than this many blocks for `stall` before answering.
    pub stall_ranges_over: Option<u64>,
    /// How long a stalled request is held.
    pub stall: Duration,
}

/// Counters of what the proxy did.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Faults injected (of any kind, including refusals).
    pub injected: AtomicU64,
    /// `eth_getLogs` refusals for too many results.
    pub refused_logs: AtomicU64,
    /// `eth_getLogs` requests held for [`Faults::stall`].
    pub stalled_logs: AtomicU64,
}

struct Inner {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    rng: Mutex<StdRng>,
    stats: Arc<FaultStats>,
}

/// A running proxy (stops with the test's runtime).
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port, with a seeded RNG.
    pub async fn start(upstream: &str, faults: Faults, seed: u64) -> eyre::Result<Self> {
        let inner = Arc::new(Inner {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            faults: Mutex::new(faults),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            stats: Arc::new(FaultStats::default()),
        });
        let app = Router::new()
            .route("/", post(handle))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner })
    }

    /// The proxy's URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        *self.inner.faults.lock().unwrap() = faults;
    }

    /// The counters.
    pub fn stats(&self) -> Arc<FaultStats> {
        self.inner.stats.clone()
    }
}

async fn handle(State(inner): State<Arc<Inner>>, body: Bytes) -> impl IntoResponse {
    inner.stats.requests.fetch_add(1, Ordering::Relaxed);
    let faults = inner.faults.lock().unwrap().clone();
    let (roll, roll_delay) = {
        let mut rng = inner.rng.lock().unwrap();
        (rng.r#gen::<f64>(), rng.r#gen::<f64>())
    };
    if roll_delay < faults.delayed {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(faults.delay).await;
    }
    if let Some(over) = faults.stall_ranges_over
        && log_range_len(&body).is_some_and(|len| len > over)
    {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        inner.stats.stalled_logs.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(faults.stall).await;
    }
    let mut edge = faults.server_error;
    if roll < edge {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(b"upstream unavailable"),
        );
    }
    edge += faults.rate_limited;
    if roll < edge {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Bytes::from_static(b"{\"error\":\"rate limited\"}"),
        );
    }
    let forwarded = inner
        .client
        .post(&inner.upstream)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    let answer = match forwarded {
        Ok(r) => r.bytes().await.unwrap_or_default(),
        Err(_) => {
            return (
                StatusCode::BAD_GATEWAY,
                Bytes::from_static(b"upstream failed"),
            );
        }
    };
    if let Some(max) = faults.max_logs
        && let Some(refusal) = refuse_large_logs(&body, &answer, max)
    {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        inner.stats.refused_logs.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::OK, refusal);
    }
    edge += faults.truncated;
    if roll < edge {
        inner.stats.injected.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::OK, answer.slice(..answer.len() / 2));
    }
    (StatusCode::OK, answer)
}

/// The number of blocks an `eth_getLogs` request with numeric `fromBlock`/`toBlock` spans.
fn log_range_len(request: &[u8]) -> Option<u64> {
    let req: serde_json::Value = serde_json::from_slice(request).ok()?;
    if req.get("method")?.as_str()? != "eth_getLogs" {
        return None;
    }
    let filter = req.get("params")?.get(0)?;
    let block = |key: &str| {
        let hex = filter.get(key)?.as_str()?.strip_prefix("0x")?;
        u64::from_str_radix(hex, 16).ok()
    };
    Some(block("toBlock")?.saturating_sub(block("fromBlock")?) + 1)
}

/// A JSON-RPC error in place of an `eth_getLogs` answer with more than `max` logs.
fn refuse_large_logs(request: &[u8], answer: &[u8], max: usize) -> Option<Bytes> {
    let req: serde_json::Value = serde_json::from_slice(request).ok()?;
    if req.get("method")?.as_str()? != "eth_getLogs" {
        return None;
    }
    let resp: serde_json::Value = serde_json::from_slice(answer).ok()?;
    let n = resp.get("result")?.as_array()?.len();
    if n <= max {
        return None;
    }
    let err = serde_json::json!({
        "jsonrpc": "2.0",
        "id": req.get("id").cloned().unwrap_or(serde_json::Value::Null),
        "error": { "code": -32005, "message": format!("query returned more than {max} results") }
    });
    Some(Bytes::from(err.to_string()))
}
