//! One message thread per order, for its two parties; the other party gets `message.created`.

use crate::reply::Created;
use crate::{
    AppState,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    orders::{PageQuery, app_order},
    types::{Cursor, OrderId, Page, hex0x, limit, text},
    webhooks,
};
use axum::{Json, extract::State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `POST /v1/orders/{id}/messages` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// 1-4000 characters.
    body: String,
}

/// A message of an order's thread.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Message {
    /// Message id.
    pub id: i64,
    /// The order of the thread.
    pub order_id: String,
    /// Handle of the author.
    pub author: String,
    /// The text.
    pub body: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Posts to the order's thread (parties only); the other party gets `message.created`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn post_message(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<MessageBody>,
) -> ApiResult<Created<Message>> {
    let id = OrderId::parse(&id)?;
    let body = text("body", &b.body, 1, 4000)?;
    let mut tx = st.pool.begin().await?;
    let o = app_order(&mut tx, &id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("thread"))?;
    if !o.is_party(auth.agent_id) {
        return Err(ApiError::forbidden(
            "not_a_party",
            "only the buyer and the seller of this order may use its thread",
        ));
    }
    let now = st.now();
    let (mid,): (i64,) = sqlx::query!(
        "INSERT INTO messages (order_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        id.0.as_slice(),
        auth.agent_id,
        &body,
        now,
    )
        .fetch_one(&mut *tx)
        .await
        .map(|r| (r.id,))?;
    let msg = Message {
        id: mid,
        order_id: hex0x(&o.order_id),
        author: auth.handle.clone(),
        body,
        created_at: now,
    };
    webhooks::enqueue(
        &mut tx,
        o.other(auth.agent_id),
        "message.created",
        &format!("msg:{mid}"),
        serde_json::to_value(&msg).map_err(eyre::Report::new)?,
        now,
    )
    .await?;
    tx.commit().await?;
    st.wake.notify_one();
    Ok(Created(msg))
}

/// `GET /v1/orders/{id}/messages`: the thread, oldest first (parties only).
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn messages(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Message>>> {
    let id = OrderId::parse(&id)?;
    let limit = limit(q.limit)?;
    let after = match &q.cursor {
        Some(s) => Cursor::parse(s, 1)?.i64(0)?,
        None => 0,
    };
    let mut conn = st.pool.acquire().await?;
    let o = app_order(&mut conn, &id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("thread"))?;
    if !o.is_party(auth.agent_id) {
        return Err(ApiError::forbidden(
            "not_a_party",
            "only the buyer and the seller of this order may read its thread",
        ));
    }
    let rows: Vec<(i64, String, String, i64)> = sqlx::query!(
        "SELECT m.id, a.handle, m.body, m.created_at FROM messages m JOIN agents a ON a.id = m.author
         WHERE m.order_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
        id.0.as_slice(),
        after,
        limit + 1,
    )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.handle, r.body, r.created_at))
        .collect();
    let more = rows.len() as i64 > limit;
    let order_id = hex0x(&o.order_id);
    let items: Vec<Message> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(id, author, body, created_at)| Message {
            id,
            order_id: order_id.clone(),
            author,
            body,
            created_at,
        })
        .collect();
    let next = if more {
        items.last().map(|m| Cursor(vec![json!(m.id)]).encode())
    } else {
        None
    };
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}
