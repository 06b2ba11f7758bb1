//! Funded orders: the chain's state as the indexer mirrors it (`escrow_orders`,
//! `escrow_events`), read by id, searched, and their audit trail.

use super::{app_order, negotiations::Negotiation};
use crate::{
    AppState,
    auth::MaybeAuth,
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    types::{Amount, Cursor, OrderId, Page, format_units, hex0x, limit, parse_address},
};
use axum::{Json, extract::State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Postgres, QueryBuilder};

/// An `escrow_orders` row as the reads select it (amounts as decimal text).
#[derive(Debug, sqlx::FromRow)]
struct ChainRow {
    chain_id: i64,
    escrow: Vec<u8>,
    order_id: Vec<u8>,
    token: Vec<u8>,
    token_decimals: i16,
    buyer: Vec<u8>,
    seller: Vec<u8>,
    amount: String,
    state: String,
    state_since: i64,
    deliver_by: i64,
    terms_hash: Vec<u8>,
    fee_bps: i32,
    review_window: i64,
    arbiter_window: i64,
    default_seller_bps: i32,
    proof_hash: Option<Vec<u8>>,
    proof_uri: Option<String>,
    rejections: i32,
    settlement_proposer: Option<Vec<u8>>,
    settlement_bps: Option<i32>,
    resolution: Option<String>,
    refund_reason: Option<String>,
    buyer_paid: String,
    seller_paid: String,
    fee_paid: String,
    deferred: String,
    next_action: Option<String>,
    next_action_at: Option<i64>,
    funded_block: i64,
    funded_tx: Vec<u8>,
    updated_block: i64,
    updated_log_index: i32,
    updated_at: i64,
}

/// The columns of a [`ChainRow`], for the search's dynamic statement (the read by id,
/// [`chain_order`], names the same columns in its checked query).
const CHAIN_COLUMNS: &str = "chain_id, escrow, order_id, token, token_decimals, buyer, seller,
    amount::text AS amount, state, state_since, deliver_by, terms_hash, fee_bps, review_window,
    arbiter_window, default_seller_bps, proof_hash, proof_uri, rejections, settlement_proposer,
    settlement_bps, resolution, refund_reason, buyer_paid::text AS buyer_paid,
    seller_paid::text AS seller_paid, fee_paid::text AS fee_paid, deferred::text AS deferred,
    next_action, next_action_at, funded_block, funded_tx, updated_block, updated_log_index,
    updated_at";

/// A funded order: the chain's state as the indexer mirrors it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChainOrder {
    /// The bytes32 order id.
    pub order_id: String,
    /// Chain id.
    pub chain_id: i64,
    /// Escrow contract.
    pub escrow: String,
    /// Settlement token.
    pub token: String,
    /// Decimals of the token.
    pub token_decimals: u32,
    /// Buyer address.
    pub buyer: String,
    /// Seller address.
    pub seller: String,
    /// Amount in token units.
    pub amount: String,
    /// `ESCROWED`, `DELIVERING`, `PROOF_SUBMITTED`, `REVIEWING`, `COMPLETED`, `REFUNDED`,
    /// `DISPUTED` or `RESOLVED`.
    #[schemars(extend("enum" = STATES))]
    pub state: String,
    /// Unix seconds the state was entered.
    pub state_since: i64,
    /// Delivery deadline, unix seconds.
    pub deliver_by: i64,
    /// The terms hash the order was funded with.
    pub terms_hash: String,
    /// Fee, basis points.
    pub fee_bps: i32,
    /// Review window, seconds.
    pub review_window: i64,
    /// Arbiter window, seconds.
    pub arbiter_window: i64,
    /// Seller's share of a default ruling, basis points.
    pub default_seller_bps: i32,
    /// The delivery proof.
    pub proof: Proof,
    /// Rejections of proofs so far.
    pub rejections: i32,
    /// A settlement proposal.
    pub settlement: Settlement,
    /// `ARBITER`, `DEFAULT_RULING` or `SETTLEMENT` once `RESOLVED`.
    pub resolution: Option<String>,
    /// `BUYER_CANCELLED`, `SELLER_REFUNDED` or `DELIVERY_EXPIRED` once `REFUNDED`.
    pub refund_reason: Option<String>,
    /// What was paid out, token units.
    pub payouts: Payouts,
    /// The next automatic step anyone may fire, and when.
    pub next_action: Option<NextAction>,
    /// Where the order was funded.
    pub funded: Funded,
    /// The last event of the order.
    pub updated: Updated,
}

/// A delivery proof.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Proof {
    /// Hash of the work (null before a proof).
    pub hash: Option<String>,
    /// Where the work is; null before a proof and for a hash-only proof (`submitProofHash`, or an
    /// empty URI).
    pub uri: Option<String>,
}

/// A settlement proposal.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Settlement {
    /// Who proposed it.
    pub proposer: Option<String>,
    /// The seller's share, basis points.
    pub seller_bps: Option<i32>,
}

/// Payouts, token units.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Payouts {
    /// To the buyer.
    pub buyer: String,
    /// To the seller.
    pub seller: String,
    /// To the treasury.
    pub fee: String,
    /// Credited as claimable instead of transferred.
    pub deferred: String,
}

/// The next automatic step of an order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NextAction {
    /// `START_REVIEW`, `COMPLETE`, `REFUND_EXPIRED` or `DEFAULT_RULING`.
    pub action: String,
    /// Unix seconds it becomes due.
    pub at: Option<i64>,
}

/// Where an order was funded.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Funded {
    /// Block number.
    pub block: i64,
    /// Transaction hash.
    pub tx: String,
}

/// The last event of an order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Updated {
    /// Block number.
    pub block: i64,
    /// Log index in the block.
    pub log_index: i32,
    /// Block time, unix seconds.
    pub at: i64,
}

impl ChainOrder {
    fn from_row(r: ChainRow) -> Self {
        let dec = r.token_decimals as u32;
        let units = |v: &str| format_units(v, dec);
        Self {
            order_id: hex0x(&r.order_id),
            chain_id: r.chain_id,
            escrow: hex0x(&r.escrow),
            token: hex0x(&r.token),
            token_decimals: dec,
            buyer: hex0x(&r.buyer),
            seller: hex0x(&r.seller),
            amount: units(&r.amount),
            state: r.state,
            state_since: r.state_since,
            deliver_by: r.deliver_by,
            terms_hash: hex0x(&r.terms_hash),
            fee_bps: r.fee_bps,
            review_window: r.review_window,
            arbiter_window: r.arbiter_window,
            default_seller_bps: r.default_seller_bps,
            proof: Proof {
                hash: r.proof_hash.as_deref().map(hex0x),
                uri: r.proof_uri,
            },
            rejections: r.rejections,
            settlement: Settlement {
                proposer: r.settlement_proposer.as_deref().map(hex0x),
                seller_bps: r.settlement_bps,
            },
            resolution: r.resolution,
            refund_reason: r.refund_reason,
            payouts: Payouts {
                buyer: units(&r.buyer_paid),
                seller: units(&r.seller_paid),
                fee: units(&r.fee_paid),
                deferred: units(&r.deferred),
            },
            next_action: r.next_action.map(|action| NextAction {
                action,
                at: r.next_action_at,
            }),
            funded: Funded {
                block: r.funded_block,
                tx: hex0x(&r.funded_tx),
            },
            updated: Updated {
                block: r.updated_block,
                log_index: r.updated_log_index,
                at: r.updated_at,
            },
        }
    }
}

/// The chain row of an order (any chain unless `chain_id` is given).
async fn chain_order(
    st: &AppState,
    id: &OrderId,
    chain_id: Option<i64>,
) -> ApiResult<Option<ChainRow>> {
    Ok(sqlx::query_as!(
        ChainRow,
        r#"SELECT chain_id, escrow, order_id, token, token_decimals, buyer, seller,
               amount::text AS "amount!", state, state_since, deliver_by, terms_hash, fee_bps,
               review_window, arbiter_window, default_seller_bps, proof_hash, proof_uri, rejections,
               settlement_proposer, settlement_bps, resolution, refund_reason,
               buyer_paid::text AS "buyer_paid!", seller_paid::text AS "seller_paid!",
               fee_paid::text AS "fee_paid!", deferred::text AS "deferred!", next_action,
               next_action_at, funded_block, funded_tx, updated_block, updated_log_index, updated_at
           FROM escrow_orders WHERE order_id = $1 AND ($2::BIGINT IS NULL OR chain_id = $2)
           LIMIT 1"#,
        id.0.as_slice(),
        chain_id,
    )
    .fetch_optional(&st.pool)
    .await?)
}

/// `GET /v1/orders/{id}` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    /// The chain, when the same order id is funded on several.
    #[serde(default)]
    chain_id: Option<i64>,
}

/// `GET /v1/orders/{id}`: the chain's view once funded, else the negotiation (parties only).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OrderView {
    /// Funded: the chain's state.
    Chain(Box<ChainOrderView>),
    /// Not funded (yet, or any more after a reorg): the negotiation.
    App(Box<AppOrderView>),
}

/// A funded order as `GET /v1/orders/{id}` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChainOrderView {
    /// The chain's state.
    #[serde(flatten)]
    pub order: ChainOrder,
    /// `chain`.
    #[schemars(extend("const" = "chain"))]
    pub source: &'static str,
    /// For a party: whether the funded terms hash is the agreed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_match: Option<bool>,
    /// For a party: the negotiation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiation: Option<Negotiation>,
}

/// An unfunded order as `GET /v1/orders/{id}` shows it to a party.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppOrderView {
    /// The negotiation.
    #[serde(flatten)]
    pub negotiation: Negotiation,
    /// The app status (same as `status`).
    pub state: String,
    /// `app`.
    #[schemars(extend("const" = "app"))]
    pub source: &'static str,
}

/// `GET /v1/orders/{id}`: the chain's state once funded, the negotiation before; the app part
/// is shown to the two parties only.
#[tracing::instrument(skip_all, err(level = "info", Debug))]
pub async fn get(
    State(st): State<AppState>,
    MaybeAuth(auth): MaybeAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> ApiResult<Json<OrderView>> {
    let id = OrderId::parse(&id)?;
    let chain = chain_order(&st, &id, q.chain_id).await?;
    // The app side is only ever shown to a party: anonymous reads need one query.
    let app = match &auth {
        Some(a) => {
            let mut conn = st.pool.acquire().await?;
            app_order(&mut conn, &id, false)
                .await?
                .filter(|o| o.is_party(a.agent_id))
        }
        None => None,
    };
    match (chain, app) {
        (Some(c), app) => {
            let terms_match = app
                .as_ref()
                .map(|o| o.terms_hash.as_deref() == Some(c.terms_hash.as_slice()));
            Ok(Json(OrderView::Chain(Box::new(ChainOrderView {
                order: ChainOrder::from_row(c),
                source: "chain",
                terms_match,
                negotiation: app.map(|o| o.view()),
            }))))
        }
        (None, Some(o)) => Ok(Json(OrderView::App(Box::new(AppOrderView {
            negotiation: o.view(),
            state: o.status,
            source: "app",
        })))),
        (None, None) => Err(ApiError::not_found("order")),
    }
}

/// `GET /v1/orders/{id}/events` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
    /// The chain, when the same order id is funded on several.
    #[serde(default)]
    chain_id: Option<i64>,
}

/// An on-chain event of an order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Event {
    /// Block number.
    pub block_number: i64,
    /// Log index in the block.
    pub log_index: i32,
    /// Transaction hash.
    pub tx_hash: String,
    /// Block time, unix seconds.
    pub block_timestamp: i64,
    /// The Solidity event name, e.g. `OrderFunded`.
    pub event: String,
    /// Who caused it, when the event says.
    pub actor: Option<String>,
    /// The order's state after the event, for transitions.
    pub state_after: Option<String>,
    /// Every decoded field; amounts as decimal strings.
    pub args: Value,
}

/// `GET /v1/orders/{id}/events`: the audit trail, oldest first.
#[tracing::instrument(skip_all, err(level = "info", Debug))]
pub async fn events(
    State(st): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Page<Event>>> {
    let id = OrderId::parse(&id)?;
    let limit = limit(q.limit)?;
    let Some(c) = chain_order(&st, &id, q.chain_id).await? else {
        return Err(ApiError::not_found("funded order"));
    };
    let (after_block, after_log) = match &q.cursor {
        Some(s) => {
            let c = Cursor::parse(s, 2)?;
            (c.i64(0)?, c.i64(1)?)
        }
        None => (-1, -1),
    };
    let rows = sqlx::query!(
        "SELECT block_number, log_index, tx_hash, block_timestamp, event, actor, state_after, args
         FROM escrow_events WHERE chain_id = $1 AND escrow = $2 AND order_id = $3
           AND (block_number, log_index) > ($4, $5::BIGINT::INTEGER)
         ORDER BY block_number, log_index LIMIT $6",
        c.chain_id,
        &c.escrow,
        id.0.as_slice(),
        after_block,
        after_log,
        limit + 1,
    )
    .fetch_all(&st.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<Event> = rows
        .iter()
        .take(limit as usize)
        .map(|r| Event {
            block_number: r.block_number,
            log_index: r.log_index,
            tx_hash: hex0x(&r.tx_hash.clone()),
            block_timestamp: r.block_timestamp,
            event: r.event.clone(),
            actor: r.actor.clone().as_deref().map(hex0x),
            state_after: r.state_after.clone(),
            args: r.args.clone(),
        })
        .collect();
    let next = if more {
        items
            .last()
            .map(|l| Cursor(vec![json!(l.block_number), json!(l.log_index)]).encode())
    } else {
        None
    };
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}

/// `GET /v1/orders` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// A 0x address (buyer or seller) or an agent handle (any of its bound addresses).
    #[serde(default)]
    party: Option<String>,
    /// The order's state.
    #[serde(default)]
    #[schemars(extend("enum" = STATES))]
    state: Option<String>,
    /// Settlement token address.
    #[serde(default)]
    token: Option<String>,
    /// Chain id.
    #[serde(default)]
    chain_id: Option<i64>,
    /// Smallest amount, token units.
    #[serde(default)]
    min_amount: Option<String>,
    /// Largest amount, token units.
    #[serde(default)]
    max_amount: Option<String>,
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

use pact_bindings::escrow_enums::FUNDED_STATES as STATES;

/// Searches funded orders, most recently updated first.
#[tracing::instrument(skip_all, err(level = "info", Debug))]
pub async fn search(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Page<ChainOrder>>> {
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let limit = limit(q.limit)?;
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT ");
    qb.push(CHAIN_COLUMNS)
        .push(" FROM escrow_orders WHERE true");
    if let Some(p) = &q.party {
        let addrs: Vec<Vec<u8>> = if p.starts_with("0x") {
            vec![
                parse_address("party", p)
                    .map_err(|e| bad(e.message()))?
                    .to_vec(),
            ]
        } else {
            let p = crate::types::Handle::parse(p).map_err(|e| bad(e.message()))?;
            let p = p.as_str();
            sqlx::query_scalar!(
                "SELECT x.address FROM agent_addresses x JOIN agents a ON a.id = x.agent_id WHERE a.handle = $1",
                p,
            )
            .fetch_all(&st.pool)
            .await?
        };
        qb.push(" AND (buyer = ANY(")
            .push_bind(addrs.clone())
            .push(") OR seller = ANY(")
            .push_bind(addrs)
            .push("))");
    }
    if let Some(s) = &q.state {
        if !STATES.contains(&s.as_str()) {
            return Err(bad(format!("state must be one of {}", STATES.join(", "))));
        }
        qb.push(" AND state = ").push_bind(s.clone());
    }
    if let Some(t) = &q.token {
        qb.push(" AND token = ").push_bind(
            parse_address("token", t)
                .map_err(|e| bad(e.message()))?
                .to_vec(),
        );
    }
    if let Some(c) = q.chain_id {
        qb.push(" AND chain_id = ").push_bind(c);
    }
    for (v, op) in [(&q.min_amount, ">="), (&q.max_amount, "<=")] {
        if let Some(a) = v {
            let a = Amount::parse_bound("amount", a, 18).map_err(|e| bad(e.message()))?;
            qb.push(format!(" AND amount {op} "))
                .push_bind(a.0)
                .push("::NUMERIC * power(10::NUMERIC, token_decimals)");
        }
    }
    if let Some(c) = &q.cursor {
        let c = Cursor::parse(c, 2)?;
        let oid = OrderId::parse(c.str(1)?).map_err(|_| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
        })?;
        qb.push(" AND (updated_block, order_id) < (")
            .push_bind(c.i64(0)?)
            .push(", ")
            .push_bind(oid.0.to_vec())
            .push(")");
    }
    qb.push(" ORDER BY updated_block DESC, order_id DESC LIMIT ")
        .push_bind(limit + 1);
    // Unnamed statement: planned with the actual values (selectivity varies a lot by party).
    let rows: Vec<ChainRow> = qb
        .build_query_as()
        .persistent(false)
        .fetch_all(&st.pool)
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<ChainOrder> = rows
        .into_iter()
        .take(limit as usize)
        .map(ChainOrder::from_row)
        .collect();
    let next = if more {
        items
            .last()
            .map(|l| Cursor(vec![json!(l.updated.block), json!(l.order_id)]).encode())
    } else {
        None
    };
    Ok(Json(Page {
        items,
        next_cursor: next,
    }))
}
