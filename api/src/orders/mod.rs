//! Orders: negotiation on a listing → agreed terms (`AWAITING_PAY`) → the chain's state once
//! funded.
//!
//! - [`negotiations`]: the app side (open, propose, agree, cancel, the caller's list).
//! - [`terms`]: the canonical terms whose hash `fund` carries.
//! - [`chain_orders`]: reads and search over the indexer's tables; the SQL over the chain tables
//!   (`escrow_orders`, `escrow_events`) is confined there.
//!
//! The message thread of an order is [`crate::threads`].

pub mod chain_orders;
pub mod negotiations;
pub mod terms;

use crate::{
    auth::Auth,
    error::{ApiError, ApiResult},
    types::OrderId,
};
use schemars::JsonSchema;
use serde::Deserialize;
use sqlx::PgConnection;

/// The app side of an order.
#[derive(Debug, Clone)]
pub struct AppOrder {
    pub(crate) order_id: Vec<u8>,
    listing_id: i64,
    buyer_agent: i64,
    seller_agent: i64,
    buyer_handle: String,
    seller_handle: String,
    chain_id: i64,
    escrow: Vec<u8>,
    token: Vec<u8>,
    token_decimals: i16,
    status: String,
    terms_version: i32,
    amount: Option<String>,
    deliver_by: Option<i64>,
    seller_address: Option<Vec<u8>>,
    details: Option<String>,
    buyer_agreed: Option<i32>,
    seller_agreed: Option<i32>,
    terms_hash: Option<Vec<u8>>,
    created_at: i64,
    updated_at: i64,
}

impl AppOrder {
    pub(crate) fn is_party(&self, agent: i64) -> bool {
        agent == self.buyer_agent || agent == self.seller_agent
    }
    pub(crate) fn other(&self, agent: i64) -> i64 {
        if agent == self.buyer_agent {
            self.seller_agent
        } else {
            self.buyer_agent
        }
    }
}

/// `sqlx::query_as!(AppOrder, …)`: the app order `o` with its parties' handles, then `$tail`
/// (the `WHERE` clause and what follows) and its arguments; checked at compile time like every
/// literal query.
///
/// `status` is the status of `o` as the chain makes it, read at query time: `FUNDED` while the
/// indexer mirrors its escrow order, `CANCELLED` while another order on its listing is funded,
/// else the status the parties gave it. A reorg the indexer applies changes what this reads; the
/// API keeps no copy ([`crate::chain`] announces the changes).
macro_rules! app_orders {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::orders::AppOrder,
            r#"SELECT o.order_id, o.listing_id, o.buyer_agent, o.seller_agent,
                   b.handle AS buyer_handle, s.handle AS seller_handle, o.chain_id, o.escrow, o.token,
                   o.token_decimals,
                   CASE WHEN EXISTS (SELECT 1 FROM escrow_orders f
                                     WHERE f.chain_id = o.chain_id AND f.escrow = o.escrow AND f.order_id = o.order_id)
                        THEN 'FUNDED'
                        WHEN o.status <> 'CANCELLED' AND EXISTS (
                            SELECT 1 FROM app_orders r JOIN escrow_orders f
                                ON f.chain_id = r.chain_id AND f.escrow = r.escrow AND f.order_id = r.order_id
                            WHERE r.listing_id = o.listing_id AND r.order_id <> o.order_id)
                        THEN 'CANCELLED'
                        ELSE o.status END AS "status!",
                   o.terms_version, o.amount::text AS amount, o.deliver_by,
                   o.seller_address, o.details, o.buyer_agreed, o.seller_agreed, o.terms_hash,
                   o.created_at, o.updated_at
               FROM app_orders o JOIN agents b ON b.id = o.buyer_agent JOIN agents s ON s.id = o.seller_agent
               "# + $tail
            $(, $arg)*
        )
    };
}
pub(crate) use app_orders;

/// The app order `id`, locked `FOR UPDATE` if `lock`.
pub(crate) async fn app_order(
    conn: &mut PgConnection,
    id: &OrderId,
    lock: bool,
) -> ApiResult<Option<AppOrder>> {
    let id = id.0.as_slice();
    Ok(if lock {
        app_orders!("WHERE o.order_id = $1 FOR UPDATE OF o", id)
            .fetch_optional(conn)
            .await?
    } else {
        app_orders!("WHERE o.order_id = $1", id)
            .fetch_optional(conn)
            .await?
    })
}

/// The order a party acts on, locked; 404 for everyone else.
pub(crate) async fn party_order(
    conn: &mut PgConnection,
    id: &OrderId,
    auth: &Auth,
) -> ApiResult<AppOrder> {
    let o = app_order(conn, id, true)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    if !o.is_party(auth.agent_id) {
        return Err(ApiError::forbidden(
            "not_a_party",
            "only the buyer and the seller of this order may do this",
        ));
    }
    Ok(o)
}

/// Paging of `GET /v1/orders/{id}/messages` and `GET /v1/negotiations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub(crate) limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub(crate) cursor: Option<String>,
}
