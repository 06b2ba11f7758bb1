//! Chain changes → `order.updated` webhooks, driven by the indexer's `NOTIFY pact_chain`.
//!
//! The API keeps its own cursor per chain (`api_chain_cursors`) and, on each notification (and
//! on a slow poll as a fallback, and at start), turns the escrow events between its cursor and
//! the indexer's into deliveries — in one transaction with the cursor move, so a restart neither
//! loses nor doubles them. A reorg notification rewinds the cursor to the fork block.

use crate::{AppState, error::ApiResult, types::hex0x};
use serde::Deserialize;
use serde_json::json;
use sqlx::{Row, postgres::PgListener};
use std::time::Duration;

/// Largest block range handled in one transaction.
const MAX_RANGE: i64 = 5_000;

#[derive(Debug, Deserialize)]
struct Notice {
    chain_id: i64,
    #[serde(default)]
    reorg: Option<i64>,
}

/// Applies a reorg notice: events after `fork` will be read again.
pub async fn rewind(st: &AppState, chain_id: i64, fork: i64) -> ApiResult<()> {
    sqlx::query(
        "UPDATE api_chain_cursors SET block_number = LEAST(block_number, $2) WHERE chain_id = $1",
    )
    .bind(chain_id)
    .bind(fork)
    .execute(&st.pool)
    .await?;
    Ok(())
}

/// Turns new escrow events of every indexed chain into webhooks; returns the events handled.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn process(st: &AppState) -> ApiResult<usize> {
    let chains: Vec<(i64, i64)> =
        sqlx::query_as("SELECT chain_id, block_number FROM indexer_cursors ORDER BY chain_id")
            .fetch_all(&st.pool)
            .await?;
    let mut total = 0;
    for (chain_id, head) in chains {
        loop {
            let (n, done) = process_range(st, chain_id, head).await?;
            total += n;
            if done {
                break;
            }
        }
    }
    if total > 0 {
        st.wake.notify_one();
    }
    Ok(total)
}

async fn process_range(st: &AppState, chain_id: i64, head: i64) -> ApiResult<(usize, bool)> {
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    sqlx::query(
        "INSERT INTO api_chain_cursors (chain_id, block_number) VALUES ($1, -1) ON CONFLICT DO NOTHING",
    )
    .bind(chain_id)
    .execute(&mut *tx)
    .await?;
    let (from,): (i64,) =
        sqlx::query_as("SELECT block_number FROM api_chain_cursors WHERE chain_id = $1 FOR UPDATE")
            .bind(chain_id)
            .fetch_one(&mut *tx)
            .await?;
    if from >= head {
        return Ok((0, true));
    }
    let to = head.min(from + MAX_RANGE);
    let events = sqlx::query(
        "SELECT e.block_number, e.log_index, e.tx_hash, e.escrow, e.order_id, e.event, e.state_after,
                o.buyer, o.seller, o.state
         FROM escrow_events e
         LEFT JOIN escrow_orders o ON o.chain_id = e.chain_id AND o.escrow = e.escrow AND o.order_id = e.order_id
         WHERE e.chain_id = $1 AND e.block_number > $2 AND e.block_number <= $3
           AND e.order_id IS NOT NULL
         ORDER BY e.block_number, e.log_index",
    )
    .bind(chain_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    for e in &events {
        let order_id: Vec<u8> = e.get("order_id");
        let block: i64 = e.get("block_number");
        let log: i32 = e.get("log_index");
        let tx_hash: Vec<u8> = e.get("tx_hash");
        let event: String = e.get("event");
        let payload = json!({
            "order_id": hex0x(&order_id),
            "chain_id": chain_id,
            "escrow": hex0x(&e.get::<Vec<u8>, _>("escrow")),
            "event": event,
            "state": e.get::<Option<String>, _>("state_after").or_else(|| e.get::<Option<String>, _>("state")),
            "block_number": block,
            "log_index": log,
            "tx_hash": hex0x(&tx_hash),
            "source": "chain",
        });
        let dedup = format!("chain:{chain_id}:{block}:{log}:{}", hex::encode(&tx_hash));
        let buyer: Option<Vec<u8>> = e.get("buyer");
        let seller: Option<Vec<u8>> = e.get("seller");
        sqlx::query(
            "INSERT INTO webhook_deliveries (agent_id, event, dedup_key, payload, next_attempt_at, created_at)
             SELECT DISTINCT p.agent_id, 'order.updated', $1, $2, $3, $3 FROM (
                 SELECT agent_id FROM agent_addresses WHERE address = $4 OR address = $5
                 UNION SELECT buyer_agent FROM app_orders WHERE order_id = $6
                 UNION SELECT seller_agent FROM app_orders WHERE order_id = $6
             ) p JOIN agents a ON a.id = p.agent_id AND a.webhook_url IS NOT NULL
             ON CONFLICT ON CONSTRAINT webhook_deliveries_dedup DO NOTHING",
        )
        .bind(&dedup)
        .bind(&payload)
        .bind(now)
        .bind(buyer)
        .bind(seller)
        .bind(&order_id)
        .execute(&mut *tx)
        .await?;
        if event == "OrderFunded" {
            funded(&mut tx, &order_id, now).await?;
        }
    }
    sqlx::query("UPDATE api_chain_cursors SET block_number = $2 WHERE chain_id = $1")
        .bind(chain_id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((events.len(), to >= head))
}

/// The app order is funded: mark it, and cancel the competing negotiations on its listing.
async fn funded(conn: &mut sqlx::PgConnection, order_id: &[u8], now: i64) -> ApiResult<()> {
    let listing: Option<(i64,)> = sqlx::query_as(
        "UPDATE app_orders SET status = 'FUNDED', updated_at = $2 WHERE order_id = $1 RETURNING listing_id",
    )
    .bind(order_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((listing,)) = listing else {
        return Ok(());
    };
    let cancelled: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "UPDATE app_orders SET status = 'CANCELLED', updated_at = $3
         WHERE listing_id = $1 AND order_id <> $2 AND status IN ('NEGOTIATING', 'AWAITING_PAY')
         RETURNING order_id, buyer_agent, seller_agent",
    )
    .bind(listing)
    .bind(order_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for (oid, buyer, seller) in cancelled {
        let payload = json!({
            "order_id": hex0x(&oid),
            "state": "CANCELLED",
            "reason": "another order on the listing was funded",
            "source": "app",
        });
        for agent in [buyer, seller] {
            crate::webhooks::enqueue(
                conn,
                agent,
                "order.updated",
                &format!("app:{}:CANCELLED", hex0x(&oid)),
                payload.clone(),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Listens on `pact_chain` and processes changes; polls every 5 s as a fallback; reconnects on
/// error.
pub async fn listen(st: AppState) {
    loop {
        if let Err(e) = listen_once(&st).await {
            tracing::warn!(error = %e, "chain listener failed; restarting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(st: &AppState) -> eyre::Result<()> {
    let mut listener = PgListener::connect_with(&st.pool).await?;
    listener.listen("pact_chain").await?;
    process(st).await.map_err(|e| eyre::eyre!("{e}"))?;
    loop {
        // A timeout is the poll fallback.
        if let Ok(n) = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await {
            let n = n?;
            if let Ok(notice) = serde_json::from_str::<Notice>(n.payload())
                && let Some(fork) = notice.reorg
            {
                rewind(st, notice.chain_id, fork)
                    .await
                    .map_err(|e| eyre::eyre!("{e}"))?;
            }
        }
        process(st).await.map_err(|e| eyre::eyre!("{e}"))?;
    }
}
