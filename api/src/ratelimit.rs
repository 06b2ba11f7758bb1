//! Fixed-window rate limits kept in PostgreSQL (`api_rate_limits`), keyed by client IP or API
//! key: every replica counts against the same window, and a restart keeps the counts.

use crate::error::{ApiError, ApiResult};
use sqlx::PgPool;

/// Counters per key, one atomic upsert per counted request.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    pool: PgPool,
}

impl RateLimiter {
    /// A limiter over the `api_rate_limits` table of `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Counts one request of `key` in the window of `window_secs` containing `now`; refuses it
    /// with `rate_limited` (429, `Retry-After` until the window ends) beyond `max`.
    pub async fn check(&self, key: &str, max: u32, window_secs: i64, now: i64) -> ApiResult<()> {
        let resets_at = (now.div_euclid(window_secs) + 1) * window_secs;
        // A row of an older window starts counting again.
        let (hits,): (i32,) = sqlx::query!(
            "INSERT INTO api_rate_limits AS r (key, resets_at, hits) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 hits = CASE WHEN r.resets_at = EXCLUDED.resets_at THEN r.hits + 1 ELSE 1 END,
                 resets_at = EXCLUDED.resets_at
             RETURNING hits",
            key,
            resets_at,
        )
        .fetch_one(&self.pool)
        .await
        .map(|r| (r.hits,))?;
        if i64::from(hits) > i64::from(max) {
            return Err(ApiError::RateLimited {
                retry_after: (resets_at - now).max(1) as u64,
            });
        }
        Ok(())
    }

    /// Forgets the windows that ended before `now`.
    pub async fn prune(&self, now: i64) -> ApiResult<u64> {
        Ok(
            sqlx::query!("DELETE FROM api_rate_limits WHERE resets_at <= $1", now,)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
