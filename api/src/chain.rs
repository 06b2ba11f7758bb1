//! Chain changes → `order.updated` webhooks, driven by the indexer's `NOTIFY pact_chain` (and a
//! slow poll as a fallback, and a pass at start).
//!
//! The API keeps no copy of chain state: an order's state is a join over the indexer's tables
//! at query time ([`crate::orders`]), so only the indexer handles reorgs. What the API keeps is
//! what it has *announced*, so each change is announced exactly once, across restarts and
//! reorgs:
//! - a watermark per chain on the indexer's own event ids (`escrow_events.seq`,
//!   `api_chain_watermarks`): every escrow event above it becomes one `order.updated` (source
//!   `chain`) per party, in the transaction that moves it. Deliveries are keyed by the event's
//!   position, so an event the indexer writes again on a new branch is not announced twice;
//! - per app order, the chain's effect it last announced (`app_orders.chain_status`: `FUNDED`,
//!   `CANCELLED` by another funding on its listing, or none) and the `seq` of the `OrderFunded`
//!   that effect rests on. The orders an `OrderFunded` touches (its own, the others on its
//!   listing) are read again through the join; a change is announced (source `app`) and recorded
//!   in the same transaction.
//!
//! The indexer only ever removes the most recent events of a chain (those above a fork). So when
//! the event at the watermark is gone, events were removed: the watermark goes back to the last
//! event that remains, and the app orders whose announcement rests on an event that no longer
//! exists are read again (their funding was reorged out). Neither `reorgs` nor block numbers are
//! read. Each pass runs in one `REPEATABLE READ` transaction: one snapshot of the indexer's
//! tables, and a concurrent pass (another replica) makes it fail and run again rather than
//! announce twice.

use crate::{AppState, error::ApiResult, types::hex0x};
use serde_json::json;
use sqlx::{PgConnection, postgres::PgListener};
use std::time::Duration;

/// Most events handled in one transaction.
const MAX_EVENTS: i64 = 5_000;

/// Turns new escrow events of every indexed chain into webhooks; returns the events handled.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn process(st: &AppState) -> ApiResult<usize> {
    // A chain the indexer removed entirely has no cursor row any more but may have events to
    // un-announce.
    let chains: Vec<(i64,)> = sqlx::query!(
        r#"SELECT chain_id AS "chain_id!" FROM indexer_cursors UNION SELECT chain_id FROM api_chain_watermarks
         ORDER BY 1"#,
    )
        .fetch_all(&st.pool)
        .await?
        .into_iter()
        .map(|r| (r.chain_id,))
        .collect();
    let mut total = 0;
    for (chain_id,) in chains {
        let mut conflicts = 0;
        loop {
            match process_batch(st, chain_id).await {
                Ok((n, done)) => {
                    total += n;
                    if done {
                        break;
                    }
                }
                // Another pass moved the same rows first: read again from its result.
                Err(e) if e.is_serialization_failure() && conflicts < 5 => conflicts += 1,
                Err(e) => return Err(e),
            }
        }
    }
    if total > 0 {
        st.wake.notify_one();
    }
    Ok(total)
}

async fn process_batch(st: &AppState, chain_id: i64) -> ApiResult<(usize, bool)> {
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO api_chain_watermarks (chain_id, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        chain_id,
    )
    .execute(&mut *tx)
    .await?;
    let (mut watermark,): (i64,) = sqlx::query!(
        "SELECT seq FROM api_chain_watermarks WHERE chain_id = $1 FOR UPDATE",
        chain_id,
    )
    .fetch_one(&mut *tx)
    .await
    .map(|r| (r.seq,))?;
    let start = watermark;
    let mut touched: Vec<Vec<u8>> = Vec::new();
    if watermark > 0 {
        let removed: Option<(i64,)> = sqlx::query!(
            r#"SELECT COALESCE((SELECT max(seq) FROM escrow_events WHERE chain_id = $1 AND seq < $2), 0) AS "kept!"
             WHERE NOT EXISTS (SELECT 1 FROM escrow_events WHERE chain_id = $1 AND seq = $2)"#,
            chain_id,
            watermark,
        )
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.kept,));
        if let Some((kept,)) = removed {
            watermark = kept;
            touched = sqlx::query_scalar!(
                "SELECT order_id FROM app_orders o WHERE o.chain_id = $1 AND o.chain_seq IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM escrow_events e
                                   WHERE e.chain_id = o.chain_id AND e.seq = o.chain_seq)",
                chain_id,
            )
            .fetch_all(&mut *tx)
            .await?;
            tracing::info!(
                chain_id,
                watermark,
                orders = touched.len(),
                "escrow events were removed (a reorg); reading their orders again"
            );
        }
    }
    let events = sqlx::query!(
        r#"SELECT e.seq, e.block_number, e.log_index, e.tx_hash, e.escrow, e.order_id AS "order_id!", e.event,
                e.state_after, o.buyer AS "buyer?", o.seller AS "seller?", o.state AS "state?"
         FROM escrow_events e
         LEFT JOIN escrow_orders o ON o.chain_id = e.chain_id AND o.escrow = e.escrow AND o.order_id = e.order_id
         WHERE e.chain_id = $1 AND e.seq > $2 AND e.order_id IS NOT NULL
         ORDER BY e.seq LIMIT $3"#,
        chain_id,
        watermark,
        MAX_EVENTS,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut funded: Vec<Vec<u8>> = Vec::new();
    for e in &events {
        let order_id: Vec<u8> = e.order_id.clone();
        let block: i64 = e.block_number;
        let log: i32 = e.log_index;
        let tx_hash: Vec<u8> = e.tx_hash.clone();
        let event: String = e.event.clone();
        let escrow: Vec<u8> = e.escrow.clone();
        let payload = json!({
            "order_id": hex0x(&order_id),
            "chain_id": chain_id,
            "escrow": hex0x(&escrow),
            "event": event,
            "state": e.state_after.clone().or_else(|| e.state.clone()),
            "block_number": block,
            "log_index": log,
            "tx_hash": hex0x(&tx_hash),
            "source": "chain",
        });
        let dedup = format!("chain:{chain_id}:{block}:{log}:{}", hex::encode(&tx_hash));
        let buyer: Option<Vec<u8>> = e.buyer.clone();
        let seller: Option<Vec<u8>> = e.seller.clone();
        sqlx::query!(
            "INSERT INTO webhook_deliveries (agent_id, event, dedup_key, payload, next_attempt_at, created_at)
             SELECT DISTINCT p.agent_id, 'order.updated', $1, $2::JSONB, $3::BIGINT, $3::BIGINT FROM (
                 SELECT agent_id FROM agent_addresses WHERE address = $4 OR address = $5
                 UNION SELECT buyer_agent FROM app_orders WHERE order_id = $6
                 UNION SELECT seller_agent FROM app_orders WHERE order_id = $6
             ) p JOIN agents a ON a.id = p.agent_id AND a.webhook_url IS NOT NULL
             ON CONFLICT ON CONSTRAINT webhook_deliveries_dedup DO NOTHING",
            &dedup,
            &payload,
            now,
            buyer,
            seller,
            &order_id,
        )
        .execute(&mut *tx)
        .await?;
        if event == "OrderFunded" {
            funded.push(order_id);
        }
        watermark = e.seq;
    }
    if !funded.is_empty() {
        // The funded app orders and every other order on their listings.
        let rivals: Vec<Vec<u8>> = sqlx::query_scalar!(
            "SELECT DISTINCT r.order_id FROM app_orders f JOIN app_orders r ON r.listing_id = f.listing_id
             WHERE f.order_id = ANY($1)",
            &funded,
        )
        .fetch_all(&mut *tx)
        .await?;
        touched.extend(rivals);
    }
    announce(&mut tx, &touched, now).await?;
    if watermark != start {
        sqlx::query!(
            "UPDATE api_chain_watermarks SET seq = $2 WHERE chain_id = $1",
            chain_id,
            watermark,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((events.len(), (events.len() as i64) < MAX_EVENTS))
}

/// Reads the chain's effect on the app orders `ids` (through the join) and announces each change
/// since the last announcement, recording it: another order on the listing funded → `CANCELLED`
/// (to both parties); that funding or the order's own removed → the order's own status again.
/// An order's own funding is recorded silently (its `OrderFunded` is announced as a chain event).
pub async fn announce(conn: &mut PgConnection, ids: &[Vec<u8>], now: i64) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query!(
        r#"SELECT o.order_id, o.buyer_agent, o.seller_agent, o.status, o.chain_status, o.chain_seq,
                o.chain_notices,
                (SELECT max(e.seq) FROM escrow_events e
                 WHERE e.chain_id = o.chain_id AND e.escrow = o.escrow AND e.order_id = o.order_id
                   AND e.event = 'OrderFunded') AS own_funding,
                rival.seq AS "rival_funding?", rival.order_id AS "rival?"
         FROM app_orders o
         LEFT JOIN LATERAL (
             SELECT e.seq, r.order_id FROM app_orders r
             JOIN escrow_events e ON e.chain_id = r.chain_id AND e.escrow = r.escrow
                 AND e.order_id = r.order_id AND e.event = 'OrderFunded'
             WHERE r.listing_id = o.listing_id AND r.order_id <> o.order_id
             ORDER BY e.seq LIMIT 1
         ) rival ON true
         WHERE o.order_id = ANY($1)
         ORDER BY o.order_id
         FOR UPDATE OF o"#,
        ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let order_id: Vec<u8> = r.order_id.clone();
        let status: String = r.status.clone();
        let announced: Option<String> = r.chain_status.clone();
        let announced_seq: Option<i64> = r.chain_seq;
        let own: Option<i64> = r.own_funding;
        let rival: Option<i64> = r.rival_funding;
        // The derived status of `crate::orders::app_orders!`, with the funding it rests on.
        let (effect, seq) = match (own, rival) {
            (Some(s), _) => (Some("FUNDED"), Some(s)),
            (None, Some(s)) if status != "CANCELLED" => (Some("CANCELLED"), Some(s)),
            _ => (None, None),
        };
        if (effect, seq) == (announced.as_deref(), announced_seq) {
            continue;
        }
        let payload = match (announced.as_deref(), effect) {
            (_, Some("FUNDED")) | (None, None) => None,
            (_, Some(_)) => Some(json!({
                "order_id": hex0x(&order_id),
                "state": "CANCELLED",
                "reason": "another order on the listing was funded",
                "funded_order_id": r.rival.clone().as_deref().map(hex0x),
                "source": "app",
            })),
            (Some("FUNDED"), None) => Some(json!({
                "order_id": hex0x(&order_id),
                "state": status,
                "reason": "the funding was reorged out of the chain",
                "source": "app",
            })),
            (Some(_), None) => Some(json!({
                "order_id": hex0x(&order_id),
                "state": status,
                "reason": "the funding that cancelled this order was reorged out of the chain",
                "source": "app",
            })),
        };
        let mut notices: i32 = r.chain_notices;
        if let Some(payload) = payload {
            notices += 1;
            let dedup = format!("app:{}:chain:{notices}", hex0x(&order_id));
            for agent in [r.buyer_agent, r.seller_agent] {
                crate::webhooks::enqueue(
                    conn,
                    agent,
                    "order.updated",
                    &dedup,
                    payload.clone(),
                    now,
                )
                .await?;
            }
        }
        sqlx::query!(
            "UPDATE app_orders SET chain_status = $2, chain_seq = $3, chain_notices = $4
             WHERE order_id = $1",
            &order_id,
            effect,
            seq,
            notices,
        )
        .execute(&mut *conn)
        .await?;
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
        // A timeout is the poll fallback. What changed is read from the tables, not the notice.
        if let Ok(n) = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await {
            n?;
        }
        process(st).await.map_err(|e| eyre::eyre!("{e}"))?;
    }
}
