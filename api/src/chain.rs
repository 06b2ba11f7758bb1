//! Chain changes → `order.updated` webhooks, driven by the indexer's `NOTIFY pact_chain`.
//!
//! The API keeps its own cursor per chain (`api_chain_cursors`) and, on each notification (and
//! on a slow poll as a fallback, and at start), turns the escrow events between its cursor and
//! the indexer's into deliveries — in one transaction with the cursor move, so a restart neither
//! loses nor doubles them.
//!
//! Reorgs: the indexer rewinds a chain in one transaction that deletes the rows above the fork
//! and appends a row to `reorgs`. The API applies each such row once (it keeps the last applied
//! id with its cursor), in the transaction that then reads on: its cursor goes back to the fork,
//! an app order whose `OrderFunded` is gone returns from `FUNDED` to `AWAITING_PAY`, and the
//! negotiations that funding had cancelled get back the status they had. Events of the new branch
//! are then read like any others (a funding mined again makes the order `FUNDED` again).

use crate::{AppState, error::ApiResult, types::hex0x};
use serde_json::json;
use sqlx::{PgConnection, Row, postgres::PgListener};
use std::time::Duration;

/// Largest block range handled in one transaction.
const MAX_RANGE: i64 = 5_000;

/// Turns new escrow events of every indexed chain into webhooks; returns the events handled.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn process(st: &AppState) -> ApiResult<usize> {
    // A chain the indexer removed entirely (a rewind below its start) has no cursor row any more
    // but may still have a rewind to apply.
    let chains: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT chain_id, COALESCE(max(block_number), -1) FROM (
             SELECT chain_id, block_number FROM indexer_cursors
             UNION ALL SELECT chain_id, NULL FROM api_chain_cursors
         ) c GROUP BY chain_id ORDER BY chain_id",
    )
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
    // A new cursor reads every event, so the rewinds already recorded are behind it.
    sqlx::query(
        "INSERT INTO api_chain_cursors (chain_id, block_number, reorg_id)
         VALUES ($1, -1, COALESCE((SELECT max(id) FROM reorgs WHERE chain_id = $1), 0))
         ON CONFLICT DO NOTHING",
    )
    .bind(chain_id)
    .execute(&mut *tx)
    .await?;
    let (mut from, seen): (i64, i64) = sqlx::query_as(
        "SELECT block_number, reorg_id FROM api_chain_cursors WHERE chain_id = $1 FOR UPDATE",
    )
    .bind(chain_id)
    .fetch_one(&mut *tx)
    .await?;
    let rewound: Option<(i64, i64)> = sqlx::query_as(
        "SELECT max(id), min(fork_block) FROM reorgs WHERE chain_id = $1 AND id > $2 HAVING count(*) > 0",
    )
    .bind(chain_id)
    .bind(seen)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((reorg_id, fork)) = rewound {
        unfund(&mut tx, chain_id, fork, reorg_id, now).await?;
        from = from.min(fork);
        sqlx::query(
            "UPDATE api_chain_cursors SET block_number = $2, reorg_id = $3 WHERE chain_id = $1",
        )
        .bind(chain_id)
        .bind(from)
        .bind(reorg_id)
        .execute(&mut *tx)
        .await?;
        tracing::info!(chain_id, fork, reorg_id, "applied a chain rewind");
    }
    if from >= head {
        tx.commit().await?;
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
        let escrow: Vec<u8> = e.get("escrow");
        let payload = json!({
            "order_id": hex0x(&order_id),
            "chain_id": chain_id,
            "escrow": hex0x(&escrow),
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
            let at = FundedAt {
                chain_id,
                escrow: &escrow,
                block,
                log,
            };
            funded(&mut tx, &order_id, at, now).await?;
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

/// Where an `OrderFunded` event sits.
#[derive(Debug, Clone, Copy)]
struct FundedAt<'a> {
    chain_id: i64,
    escrow: &'a [u8],
    block: i64,
    log: i32,
}

/// The app order is funded: mark it (with the block, for a later rewind), and cancel the
/// competing negotiations on its listing, remembering which funding cancelled them and from what.
async fn funded(
    conn: &mut PgConnection,
    order_id: &[u8],
    at: FundedAt<'_>,
    now: i64,
) -> ApiResult<()> {
    let listing: Option<(i64,)> = sqlx::query_as(
        "UPDATE app_orders SET status = 'FUNDED', funded_block = $4, cancelled_by = NULL,
            cancelled_from = NULL, updated_at = $5
         WHERE order_id = $1 AND chain_id = $2 AND escrow = $3 RETURNING listing_id",
    )
    .bind(order_id)
    .bind(at.chain_id)
    .bind(at.escrow)
    .bind(at.block)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((listing,)) = listing else {
        return Ok(());
    };
    let cancelled: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "UPDATE app_orders SET status = 'CANCELLED', cancelled_by = $2, cancelled_from = status,
            updated_at = $3
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
            "funded_order_id": hex0x(order_id),
            "source": "app",
        });
        // One delivery per funding event: a funding mined again after a reorg cancels again.
        let dedup = format!(
            "app:{}:CANCELLED:{}:{}:{}",
            hex0x(&oid),
            at.chain_id,
            at.block,
            at.log
        );
        for agent in [buyer, seller] {
            crate::webhooks::enqueue(conn, agent, "order.updated", &dedup, payload.clone(), now)
                .await?;
        }
    }
    Ok(())
}

/// Applies a rewind of `chain_id` to `fork` (the `reorgs` rows up to `reorg_id`): every app order
/// made `FUNDED` by an event above the fork whose chain order is gone goes back to
/// `AWAITING_PAY`, and the negotiations its funding cancelled get their status back. An order
/// whose funding the indexer already re-read on the new branch stays `FUNDED` (the cursor goes
/// back to the fork, so that event is processed again and updates its block).
async fn unfund(
    conn: &mut PgConnection,
    chain_id: i64,
    fork: i64,
    reorg_id: i64,
    now: i64,
) -> ApiResult<()> {
    let unfunded: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "UPDATE app_orders o SET status = 'AWAITING_PAY', funded_block = NULL, updated_at = $3
         WHERE o.chain_id = $1 AND o.status = 'FUNDED' AND o.funded_block > $2
           AND NOT EXISTS (SELECT 1 FROM escrow_orders e
                           WHERE e.chain_id = o.chain_id AND e.escrow = o.escrow AND e.order_id = o.order_id)
         RETURNING o.order_id, o.buyer_agent, o.seller_agent",
    )
    .bind(chain_id)
    .bind(fork)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    if unfunded.is_empty() {
        return Ok(());
    }
    let ids: Vec<Vec<u8>> = unfunded.iter().map(|u| u.0.clone()).collect();
    let restored: Vec<(Vec<u8>, i64, i64, String)> = sqlx::query_as(
        "UPDATE app_orders SET status = cancelled_from, cancelled_by = NULL, cancelled_from = NULL,
            updated_at = $2
         WHERE cancelled_by = ANY($1) AND status = 'CANCELLED'
         RETURNING order_id, buyer_agent, seller_agent, status",
    )
    .bind(&ids)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let notices = unfunded
        .into_iter()
        .map(|(oid, b, s)| {
            let payload = json!({
                "order_id": hex0x(&oid),
                "state": "AWAITING_PAY",
                "reason": "the funding was reorged out of the chain",
                "source": "app",
            });
            (oid, b, s, "UNFUNDED", payload)
        })
        .chain(restored.into_iter().map(|(oid, b, s, status)| {
            let payload = json!({
                "order_id": hex0x(&oid),
                "state": status,
                "reason": "the funding that cancelled this order was reorged out of the chain",
                "source": "app",
            });
            (oid, b, s, "RESTORED", payload)
        }));
    for (oid, buyer, seller, what, payload) in notices {
        let dedup = format!("app:{}:{what}:{chain_id}:{reorg_id}", hex0x(&oid));
        for agent in [buyer, seller] {
            crate::webhooks::enqueue(conn, agent, "order.updated", &dedup, payload.clone(), now)
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
    listener.listen(pact_db::channel::CHAIN).await?;
    process(st).await.map_err(|e| eyre::eyre!("{e}"))?;
    loop {
        // A timeout is the poll fallback. Rewinds are read from `reorgs`, not from the notice.
        if let Ok(n) = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await {
            n?;
        }
        process(st).await.map_err(|e| eyre::eyre!("{e}"))?;
    }
}
