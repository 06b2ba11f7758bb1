//! The app side of an order: a negotiation opens on a listing with a fresh order id, the
//! parties propose and agree to terms (`NEGOTIATING` → `AWAITING_PAY`, with the terms hash) or
//! cancel before funding.

use super::{AppOrder, PageQuery, app_order, app_orders, party_order};
use crate::reply::Created;
use crate::{
    AppState,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    types::{Amount, Cursor, OrderId, Page, format_units, hex0x, limit, parse_address, text},
    webhooks,
};
use alloy::primitives::Address;
use axum::{Json, extract::State};
use pact_db::{
    bytea,
    states::{AppOrderStatus, ListingKind, ListingStatus},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;

impl AppOrder {
    pub(crate) fn view(&self) -> Negotiation {
        let dec = self.token_decimals as u32;
        Negotiation {
            order_id: hex0x(&self.order_id),
            // `app_orders.order_id` is 32 bytes by its CHECK constraint.
            buyer_address: hex0x(
                bytea::b256(&self.order_id)
                    .map(pact_bindings::buyer_of)
                    .unwrap_or_default()
                    .as_slice(),
            ),
            listing_id: self.listing_id,
            buyer_agent: self.buyer_handle.clone(),
            seller_agent: self.seller_handle.clone(),
            status: self.status.clone(),
            terms: NegotiatedTerms {
                version: self.terms_version,
                amount: self.amount.as_deref().map(|a| format_units(a, dec)),
                deliver_by: self.deliver_by,
                seller_address: self.seller_address.as_deref().map(hex0x),
                details: self.details.clone(),
                buyer_agreed: self.buyer_agreed == Some(self.terms_version),
                seller_agreed: self.seller_agreed == Some(self.terms_version),
            },
            terms_hash: self.terms_hash.as_deref().map(hex0x),
            terms_canonical: self
                .terms_hash
                .as_ref()
                .and_then(|_| self.canonical_terms())
                .map(|t| t.canonical()),
            fund: self.terms_hash.as_ref().map(|h| FundParams {
                function: "fund(bytes32,address,uint256,uint64,bytes32)".into(),
                escrow: hex0x(&self.escrow),
                order_id: hex0x(&self.order_id),
                seller: self.seller_address.as_deref().map(hex0x),
                amount: self.amount.clone(),
                deliver_by: self.deliver_by,
                terms_hash: hex0x(h),
            }),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// An order as negotiated in the app (before and besides the chain).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Negotiation {
    /// The bytes32 order id (`0x` + 64 hex digits) to fund on-chain. Its first 20 bytes are
    /// `buyer_address`: the escrow accepts it only from that wallet, so nobody else can occupy it.
    pub order_id: String,
    /// The buyer's wallet that funds the order (fixed when the negotiation opens).
    pub buyer_address: String,
    /// The listing negotiated on.
    pub listing_id: i64,
    /// Handle of the buyer.
    pub buyer_agent: String,
    /// Handle of the seller.
    pub seller_agent: String,
    /// `NEGOTIATING`, `AWAITING_PAY`, `FUNDED` or `CANCELLED`.
    #[schemars(extend("enum" = ["NEGOTIATING", "AWAITING_PAY", "FUNDED", "CANCELLED"]))]
    pub status: String,
    /// The current terms.
    pub terms: NegotiatedTerms,
    /// keccak256 of `terms_canonical`, once both parties agreed: the `termsHash` of `fund`.
    pub terms_hash: Option<String>,
    /// The canonical terms string the hash covers (see the README, "Terms hash").
    pub terms_canonical: Option<String>,
    /// The parameters of `fund`, once both parties agreed.
    pub fund: Option<FundParams>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The current terms of a negotiation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NegotiatedTerms {
    /// Revision; agreements name it.
    pub version: i32,
    /// Amount in token units with the token's decimals.
    pub amount: Option<String>,
    /// Delivery deadline, unix seconds.
    pub deliver_by: Option<i64>,
    /// The seller's payout address (bound to the seller's agent).
    pub seller_address: Option<String>,
    /// Free text.
    pub details: Option<String>,
    /// The buyer agreed to this version.
    pub buyer_agreed: bool,
    /// The seller agreed to this version.
    pub seller_agreed: bool,
}

/// The arguments of `PactEscrow.fund` for an agreed order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FundParams {
    /// The function signature.
    pub function: String,
    /// The escrow contract to call.
    pub escrow: String,
    /// `orderId`.
    pub order_id: String,
    /// `seller`.
    pub seller: Option<String>,
    /// `amount`, base units.
    pub amount: Option<String>,
    /// `deliverBy`, unix seconds.
    pub deliver_by: Option<i64>,
    /// `termsHash`.
    pub terms_hash: String,
}

/// A proposal of terms (the body of `POST /v1/listings/{id}/negotiations`, optional there, and
/// of `POST /v1/orders/{id}/terms`): the fields given replace the current ones.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TermsProposal")]
pub struct TermsBody {
    /// Decimal string in token units (the listing's price when a negotiation opens without one).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?$"))]
    amount: Option<String>,
    /// Delivery deadline, unix seconds in the future (fits in uint32).
    #[serde(default)]
    deliver_by: Option<i64>,
    /// 0-4000 characters.
    #[serde(default)]
    details: Option<String>,
    /// The seller's payout address; must be bound to the seller's agent.
    #[serde(default)]
    #[schemars(regex(pattern = r"^0x[0-9a-fA-F]{40}$"))]
    seller_address: Option<String>,
    /// Only when a negotiation opens: the buyer's wallet that will fund (bound to the buyer's
    /// agent; default: the address the buyer bound first). The order id is in its namespace.
    #[serde(default)]
    #[schemars(regex(pattern = r"^0x[0-9a-fA-F]{40}$"))]
    buyer_address: Option<String>,
}

/// The wallet a negotiation's order id belongs to: `requested` (bound to the buyer) or the
/// address the buyer bound first. The escrow only accepts an order id from the wallet in its
/// first 20 bytes (`pact_bindings::order_id`), so the id is derived from it here.
async fn buyer_wallet(
    conn: &mut PgConnection,
    buyer_agent: i64,
    requested: Option<&str>,
) -> ApiResult<Address> {
    let requested = requested
        .map(|a| parse_address("buyer_address", a))
        .transpose()?;
    let bound: Option<(Vec<u8>,)> = sqlx::query!(
        "SELECT address FROM agent_addresses WHERE agent_id = $1 AND ($2::BYTEA IS NULL OR address = $2)
         ORDER BY bound_at, address LIMIT 1",
        buyer_agent,
        requested.map(|a| a.to_vec()),
    )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.address,));
    match bound {
        Some((a,)) => Ok(bytea::address(&a)?),
        None if requested.is_some() => Err(ApiError::unprocessable(
            "buyer_address_not_bound",
            "buyer_address must be an address the buyer bound to its agent",
        )),
        None => Err(ApiError::unprocessable(
            "buyer_wallet_required",
            "the buyer must bind a wallet (POST /v1/agents/me/addresses) before a negotiation \
             opens: the order id belongs to the wallet that funds it",
        )),
    }
}

struct Terms {
    amount: Option<rust_decimal::Decimal>,
    deliver_by: Option<i64>,
    details: Option<String>,
    seller_address: Option<Address>,
}

async fn check_terms(
    conn: &mut PgConnection,
    st: &AppState,
    b: &TermsBody,
    decimals: i16,
    seller_agent: i64,
) -> ApiResult<Terms> {
    let amount = b
        .amount
        .as_deref()
        .map(|a| Amount::parse("amount", a, decimals as u32).map(|a| a.base_units(decimals as u32)))
        .transpose()?;
    if let Some(d) = b.deliver_by
        && (d <= st.now() || d > i64::from(u32::MAX))
    {
        return Err(ApiError::unprocessable(
            "invalid_deadline",
            "deliver_by must be a future unix time that fits in uint32",
        ));
    }
    let details = b
        .details
        .as_deref()
        .map(|d| text("details", d, 0, 4000))
        .transpose()?;
    let seller_address = b
        .seller_address
        .as_deref()
        .map(|a| parse_address("seller_address", a))
        .transpose()?;
    if let Some(a) = seller_address {
        let bound: Option<(i64,)> = sqlx::query!(
            r#"SELECT 1::BIGINT AS "one!" FROM agent_addresses WHERE address = $1 AND agent_id = $2"#,
            a.as_slice(),
            seller_agent,
        )
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| (r.one,));
        if bound.is_none() {
            return Err(ApiError::unprocessable(
                "seller_address_not_bound",
                "seller_address must be an address the seller bound to its agent",
            ));
        }
    }
    Ok(Terms {
        amount,
        deliver_by: b.deliver_by,
        details,
        seller_address,
    })
}

/// Opens a negotiation on a listing: a fresh bytes32 order id and its thread.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id, listing = listing_id), err(level = "info", Debug))]
pub async fn negotiate(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(listing_id): ApiPath<i64>,
    ApiJson(body): ApiJson<TermsBody>,
) -> ApiResult<Created<Negotiation>> {
    let mut tx = st.pool.begin().await?;
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, String, String, rust_decimal::Decimal, i64, Vec<u8>, i16, Vec<u8>)> =
        sqlx::query!(
            "SELECT l.agent_id, l.kind, l.status, l.price, l.chain_id, l.token, l.token_decimals, t.escrow
             FROM listings l JOIN api_tokens t ON t.chain_id = l.chain_id AND t.token = l.token
             WHERE l.id = $1",
            listing_id,
        )
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.agent_id, r.kind, r.status, r.price, r.chain_id, r.token, r.token_decimals, r.escrow));
    let Some((owner, kind, status, price, chain_id, token, decimals, escrow)) = row else {
        return Err(ApiError::not_found("listing"));
    };
    if ListingStatus::parse(&status) != Some(ListingStatus::Open) {
        return Err(ApiError::conflict(
            "listing_closed",
            "the listing is closed",
        ));
    }
    if owner == auth.agent_id {
        return Err(ApiError::unprocessable(
            "own_listing",
            "an agent cannot negotiate on its own listing",
        ));
    }
    let (buyer, seller) = if ListingKind::parse(&kind) == Some(ListingKind::Offer) {
        (auth.agent_id, owner)
    } else {
        (owner, auth.agent_id)
    };
    let terms = check_terms(&mut tx, &st, &body, decimals, seller).await?;
    let amount = terms
        .amount
        .unwrap_or_else(|| Amount(price).base_units(decimals as u32));
    let wallet = buyer_wallet(&mut tx, buyer, body.buyer_address.as_deref()).await?;
    let id = OrderId(pact_bindings::random_order_id(wallet));
    let now = st.now();
    sqlx::query!(
        "INSERT INTO app_orders (order_id, listing_id, buyer_agent, seller_agent, chain_id, escrow,
            token, token_decimals, status, terms_version, amount, deliver_by, seller_address, details,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $14, 1, $9, $10, $11, $12, $13, $13)",
        id.0.as_slice(),
        listing_id,
        buyer,
        seller,
        chain_id,
        &escrow,
        &token,
        decimals,
        amount,
        terms.deliver_by,
        terms.seller_address.map(|a| a.to_vec()),
        terms.details.as_deref(),
        now,
        AppOrderStatus::Negotiating.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    // Another order on the listing may be funded already: that is announced like a later one.
    crate::chain::announce(&mut tx, &[id.0.to_vec()], now).await?;
    let o = app_order(&mut tx, &id, false)
        .await?
        .ok_or_else(|| eyre::eyre!("order vanished"))?;
    webhooks::enqueue(
        &mut tx,
        owner,
        "order.updated",
        &format!("app:{}:NEGOTIATING", hex0x(&o.order_id)),
        json!({ "order_id": hex0x(&o.order_id), "state": "NEGOTIATING", "source": "app" }),
        now,
    )
    .await?;
    tx.commit().await?;
    st.wake.notify_one();
    Ok(Created(o.view()))
}

/// `POST /v1/orders/{id}/terms`: a new proposal (clears both agreements).
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn propose(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TermsBody>,
) -> ApiResult<Json<Negotiation>> {
    let id = OrderId::parse(&id)?;
    if body.buyer_address.is_some() {
        return Err(ApiError::unprocessable(
            "buyer_address_fixed",
            "buyer_address is fixed when the negotiation opens (the order id is in its namespace)",
        ));
    }
    let mut tx = st.pool.begin().await?;
    let o = party_order(&mut tx, &id, &auth).await?;
    if !matches!(
        AppOrderStatus::parse(&o.status),
        Some(AppOrderStatus::Negotiating | AppOrderStatus::AwaitingPay)
    ) {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("terms cannot change in state {}", o.status),
        ));
    }
    let t = check_terms(&mut tx, &st, &body, o.token_decimals, o.seller_agent).await?;
    sqlx::query!(
        "UPDATE app_orders SET status = $7, terms_version = terms_version + 1,
            amount = COALESCE($2, amount), deliver_by = COALESCE($3, deliver_by),
            seller_address = COALESCE($4, seller_address), details = COALESCE($5, details),
            buyer_agreed = NULL, seller_agreed = NULL, terms_hash = NULL, updated_at = $6
         WHERE order_id = $1",
        id.0.as_slice(),
        t.amount,
        t.deliver_by,
        t.seller_address.map(|a| a.to_vec()),
        t.details,
        st.now(),
        AppOrderStatus::Negotiating.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    let o = app_order(&mut tx, &id, false)
        .await?
        .ok_or_else(|| eyre::eyre!("order vanished"))?;
    tx.commit().await?;
    Ok(Json(o.view()))
}

/// `POST /v1/orders/{id}/agree` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreeBody {
    /// The terms version agreed to (the current one).
    terms_version: i32,
}

/// `POST /v1/orders/{id}/agree`: a party agrees to the current terms; both → `AWAITING_PAY`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn agree(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AgreeBody>,
) -> ApiResult<Json<Negotiation>> {
    let id = OrderId::parse(&id)?;
    let mut tx = st.pool.begin().await?;
    let o = party_order(&mut tx, &id, &auth).await?;
    if AppOrderStatus::parse(&o.status) != Some(AppOrderStatus::Negotiating) {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("cannot agree in state {}", o.status),
        ));
    }
    if body.terms_version != o.terms_version {
        return Err(ApiError::conflict(
            "terms_changed",
            format!("the current terms are version {}", o.terms_version),
        ));
    }
    if o.amount.is_none() || o.deliver_by.is_none() || o.seller_address.is_none() {
        return Err(ApiError::unprocessable(
            "terms_incomplete",
            "terms need amount, deliver_by and seller_address before agreement",
        ));
    }
    let now = st.now();
    sqlx::query!(
        "UPDATE app_orders SET
             buyer_agreed = CASE WHEN $3 THEN terms_version ELSE buyer_agreed END,
             seller_agreed = CASE WHEN $3 THEN seller_agreed ELSE terms_version END,
             updated_at = $2
         WHERE order_id = $1",
        id.0.as_slice(),
        now,
        auth.agent_id == o.buyer_agent,
    )
    .execute(&mut *tx)
    .await?;
    let mut o = app_order(&mut tx, &id, false)
        .await?
        .ok_or_else(|| eyre::eyre!("order vanished"))?;
    if o.buyer_agreed == Some(o.terms_version) && o.seller_agreed == Some(o.terms_version) {
        let h = o
            .canonical_terms()
            .ok_or_else(|| eyre::eyre!("agreed terms are incomplete"))?
            .hash();
        sqlx::query!(
            "UPDATE app_orders SET status = $3, terms_hash = $2 WHERE order_id = $1",
            id.0.as_slice(),
            h.as_slice(),
            AppOrderStatus::AwaitingPay.as_str(),
        )
        .execute(&mut *tx)
        .await?;
        o.status = AppOrderStatus::AwaitingPay.as_str().into();
        o.terms_hash = Some(h.to_vec());
        let payload =
            json!({ "order_id": hex0x(&o.order_id), "state": "AWAITING_PAY", "source": "app" });
        let dedup = format!(
            "app:{}:AWAITING_PAY:{}",
            hex0x(&o.order_id),
            o.terms_version
        );
        webhooks::enqueue(
            &mut tx,
            o.other(auth.agent_id),
            "order.updated",
            &dedup,
            payload,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    st.wake.notify_one();
    Ok(Json(o.view()))
}

/// `POST /v1/orders/{id}/cancel`: either party, before funding.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn cancel(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Negotiation>> {
    let id = OrderId::parse(&id)?;
    let mut tx = st.pool.begin().await?;
    let o = party_order(&mut tx, &id, &auth).await?;
    if !matches!(
        AppOrderStatus::parse(&o.status),
        Some(AppOrderStatus::Negotiating | AppOrderStatus::AwaitingPay)
    ) {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("cannot cancel in state {}", o.status),
        ));
    }
    let now = st.now();
    sqlx::query!(
        "UPDATE app_orders SET status = $3, updated_at = $2 WHERE order_id = $1",
        id.0.as_slice(),
        now,
        AppOrderStatus::Cancelled.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    webhooks::enqueue(
        &mut tx,
        o.other(auth.agent_id),
        "order.updated",
        &format!("app:{}:CANCELLED", hex0x(&o.order_id)),
        json!({ "order_id": hex0x(&o.order_id), "state": "CANCELLED", "source": "app" }),
        now,
    )
    .await?;
    let o = app_order(&mut tx, &id, false)
        .await?
        .ok_or_else(|| eyre::eyre!("order vanished"))?;
    tx.commit().await?;
    st.wake.notify_one();
    Ok(Json(o.view()))
}

/// `GET /v1/negotiations`: the caller's app orders, newest first.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn mine(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Negotiation>>> {
    let limit = limit(q.limit)?;
    let (before_at, before_id) = match &q.cursor {
        Some(s) => {
            let c = Cursor::parse(s, 2)?;
            let oid = OrderId::parse(c.str(1)?).map_err(|_| {
                ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
            })?;
            (c.i64(0)?, oid.0.to_vec())
        }
        None => (i64::MAX, vec![0xff; 33]),
    };
    let rows: Vec<AppOrder> = app_orders!(
        "WHERE (o.buyer_agent = $1 OR o.seller_agent = $1) AND (o.created_at, o.order_id) < ($2, $3)
         ORDER BY o.created_at DESC, o.order_id DESC LIMIT $4",
        auth.agent_id,
        before_at,
        before_id,
        limit + 1,
    )
    .fetch_all(&st.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<&AppOrder> = rows.iter().take(limit as usize).collect();
    let next = if more {
        page.last()
            .map(|o| Cursor(vec![json!(o.created_at), json!(hex0x(&o.order_id))]).encode())
    } else {
        None
    };
    Ok(Json(Page {
        items: page.iter().map(|o| o.view()).collect(),
        next_cursor: next,
    }))
}
