//! Fixed-window rate limits kept in memory (per process), keyed by client IP or API key.

use crate::error::ApiError;
use std::{collections::HashMap, sync::Mutex};

/// Counters per `(key, window)`.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// Counts one request of `key` in the window of `window_secs` containing `now`; refuses it
    /// with `rate_limited` (429, `Retry-After`) beyond `max`.
    pub fn check(&self, key: &str, max: u32, window_secs: i64, now: i64) -> Result<(), ApiError> {
        let window = now.div_euclid(window_secs);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= max {
            let retry_after = ((window + 1) * window_secs - now).max(1) as u64;
            return Err(ApiError::RateLimited { retry_after });
        }
        entry.1 += 1;
        Ok(())
    }
}
