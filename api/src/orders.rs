//! Orders: negotiation on a listing → agreed terms (`AWAITING_PAY`) → the chain's state once
//! funded; order reads and search over the indexer's tables; one message thread per order.
//!
//! The SQL over the chain tables (`escrow_orders`, `escrow_events`) is confined to
//! [`chain_order`], [`events`] and [`search`].

use crate::{
    AppState,
    auth::{Auth, MaybeAuth},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    types::{Amount, Cursor, OrderId, Page, format_units, hex0x, limit, parse_address, text},
    webhooks,
};
use alloy::primitives::{Address, B256, keccak256};
use axum::{Json, extract::State, http::StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, postgres::PgRow};
use std::sync::LazyLock;

/// The app side of an order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppOrder {
    order_id: Vec<u8>,
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
    fn is_party(&self, agent: i64) -> bool {
        agent == self.buyer_agent || agent == self.seller_agent
    }
    fn other(&self, agent: i64) -> i64 {
        if agent == self.buyer_agent {
            self.seller_agent
        } else {
            self.buyer_agent
        }
    }
    fn view(&self) -> Negotiation {
        let dec = self.token_decimals as u32;
        Negotiation {
            order_id: hex0x(&self.order_id),
            buyer_address: hex0x(
                pact_bindings::buyer_of(
                    B256::try_from(self.order_id.as_slice()).unwrap_or_default(),
                )
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

const APP_ORDER_SQL: &str = "SELECT o.order_id, o.listing_id, o.buyer_agent, o.seller_agent,
        b.handle AS buyer_handle, s.handle AS seller_handle, o.chain_id, o.escrow, o.token,
        o.token_decimals, o.status, o.terms_version, o.amount::text AS amount, o.deliver_by,
        o.seller_address, o.details, o.buyer_agreed, o.seller_agreed, o.terms_hash,
        o.created_at, o.updated_at
    FROM app_orders o JOIN agents b ON b.id = o.buyer_agent JOIN agents s ON s.id = o.seller_agent";

async fn app_order(
    conn: &mut PgConnection,
    id: &OrderId,
    lock: bool,
) -> ApiResult<Option<AppOrder>> {
    let sql = format!(
        "{APP_ORDER_SQL} WHERE o.order_id = $1{}",
        if lock { " FOR UPDATE OF o" } else { "" }
    );
    Ok(sqlx::query_as::<_, AppOrder>(&sql)
        .bind(id.0.as_slice())
        .fetch_optional(conn)
        .await?)
}

/// The order a party acts on, locked; 404 for everyone else.
async fn party_order(conn: &mut PgConnection, id: &OrderId, auth: &Auth) -> ApiResult<AppOrder> {
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
    let bound: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT address FROM agent_addresses WHERE agent_id = $1 AND ($2::BYTEA IS NULL OR address = $2)
         ORDER BY bound_at, address LIMIT 1",
    )
    .bind(buyer_agent)
    .bind(requested.map(|a| a.to_vec()))
    .fetch_optional(&mut *conn)
    .await?;
    match bound {
        Some((a,)) => Ok(Address::from_slice(&a)),
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
        let bound: Option<(i64,)> = sqlx::query_as(
            "SELECT 1::BIGINT FROM agent_addresses WHERE address = $1 AND agent_id = $2",
        )
        .bind(a.as_slice())
        .bind(seller_agent)
        .fetch_optional(&mut *conn)
        .await?;
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
) -> ApiResult<(StatusCode, Json<Negotiation>)> {
    let mut tx = st.pool.begin().await?;
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, String, String, rust_decimal::Decimal, i64, Vec<u8>, i16, Vec<u8>)> =
        sqlx::query_as(
            "SELECT l.agent_id, l.kind, l.status, l.price, l.chain_id, l.token, l.token_decimals, t.escrow
             FROM listings l JOIN api_tokens t ON t.chain_id = l.chain_id AND t.token = l.token
             WHERE l.id = $1",
        )
        .bind(listing_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((owner, kind, status, price, chain_id, token, decimals, escrow)) = row else {
        return Err(ApiError::not_found("listing"));
    };
    if status != "open" {
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
    let (buyer, seller) = if kind == "offer" {
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
    sqlx::query(
        "INSERT INTO app_orders (order_id, listing_id, buyer_agent, seller_agent, chain_id, escrow,
            token, token_decimals, status, terms_version, amount, deliver_by, seller_address, details,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'NEGOTIATING', 1, $9, $10, $11, $12, $13, $13)",
    )
    .bind(id.0.as_slice())
    .bind(listing_id)
    .bind(buyer)
    .bind(seller)
    .bind(chain_id)
    .bind(&escrow)
    .bind(&token)
    .bind(decimals)
    .bind(amount)
    .bind(terms.deliver_by)
    .bind(terms.seller_address.map(|a| a.to_vec()))
    .bind(&terms.details)
    .bind(now)
    .execute(&mut *tx)
    .await?;
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
    Ok((StatusCode::CREATED, Json(o.view())))
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
    if !matches!(o.status.as_str(), "NEGOTIATING" | "AWAITING_PAY") {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("terms cannot change in state {}", o.status),
        ));
    }
    let t = check_terms(&mut tx, &st, &body, o.token_decimals, o.seller_agent).await?;
    sqlx::query(
        "UPDATE app_orders SET status = 'NEGOTIATING', terms_version = terms_version + 1,
            amount = COALESCE($2, amount), deliver_by = COALESCE($3, deliver_by),
            seller_address = COALESCE($4, seller_address), details = COALESCE($5, details),
            buyer_agreed = NULL, seller_agreed = NULL, terms_hash = NULL, updated_at = $6
         WHERE order_id = $1",
    )
    .bind(id.0.as_slice())
    .bind(t.amount)
    .bind(t.deliver_by)
    .bind(t.seller_address.map(|a| a.to_vec()))
    .bind(t.details)
    .bind(st.now())
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

/// The agreed terms in the form the terms hash covers. `fund(orderId, seller, amount, deliverBy,
/// termsHash)` takes `termsHash = keccak256(utf8(canonical()))`.
///
/// The canonical form (specified in `api/README.md`, "Terms hash") is one JSON object without
/// whitespace, keys in this order: `amount` (base units, decimal digits without leading zeros, as
/// a string), `chain_id` (number), `deliver_by` (unix seconds, number), `details` (string, `""`
/// when absent), `escrow`, `order_id`, `seller`, `token` (`0x` + lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalTerms<'a> {
    /// The amount in base units (decimal digits).
    pub amount: &'a str,
    /// Chain id of the escrow.
    pub chain_id: i64,
    /// Delivery deadline, unix seconds.
    pub deliver_by: i64,
    /// Free-text details (trimmed as stored; empty when absent).
    pub details: &'a str,
    /// The escrow contract.
    pub escrow: Address,
    /// The bytes32 order id.
    pub order_id: B256,
    /// The seller's payout address.
    pub seller: Address,
    /// The settlement token.
    pub token: Address,
}

impl CanonicalTerms<'_> {
    /// The canonical JSON string.
    pub fn canonical(&self) -> String {
        let digits = self.amount.trim_start_matches('0');
        let amount = if digits.is_empty() { "0" } else { digits };
        // serde_json writes a string with the minimal JSON escapes (`\"`, `\\`, `\n`, `\t`,
        // ... and `\u00xx` for other control characters) and every other character as UTF-8.
        let details = serde_json::to_string(self.details).unwrap_or_default();
        format!(
            "{{\"amount\":\"{amount}\",\"chain_id\":{},\"deliver_by\":{},\"details\":{details},\
             \"escrow\":\"{}\",\"order_id\":\"{}\",\"seller\":\"{}\",\"token\":\"{}\"}}",
            self.chain_id,
            self.deliver_by,
            hex0x(self.escrow.as_slice()),
            hex0x(self.order_id.as_slice()),
            hex0x(self.seller.as_slice()),
            hex0x(self.token.as_slice()),
        )
    }

    /// keccak256 of the canonical string: the `termsHash` of `fund`.
    pub fn hash(&self) -> B256 {
        keccak256(self.canonical().as_bytes())
    }
}

impl AppOrder {
    /// The canonical terms, once amount, deadline and seller address are set.
    fn canonical_terms(&self) -> Option<CanonicalTerms<'_>> {
        Some(CanonicalTerms {
            amount: self.amount.as_deref()?,
            chain_id: self.chain_id,
            deliver_by: self.deliver_by?,
            details: self.details.as_deref().unwrap_or(""),
            escrow: Address::try_from(self.escrow.as_slice()).ok()?,
            order_id: B256::try_from(self.order_id.as_slice()).ok()?,
            seller: Address::try_from(self.seller_address.as_deref()?).ok()?,
            token: Address::try_from(self.token.as_slice()).ok()?,
        })
    }
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
    if o.status != "NEGOTIATING" {
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
    let col = if auth.agent_id == o.buyer_agent {
        "buyer_agreed"
    } else {
        "seller_agreed"
    };
    let now = st.now();
    sqlx::query(&format!(
        "UPDATE app_orders SET {col} = terms_version, updated_at = $2 WHERE order_id = $1"
    ))
    .bind(id.0.as_slice())
    .bind(now)
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
        sqlx::query(
            "UPDATE app_orders SET status = 'AWAITING_PAY', terms_hash = $2 WHERE order_id = $1",
        )
        .bind(id.0.as_slice())
        .bind(h.as_slice())
        .execute(&mut *tx)
        .await?;
        o.status = "AWAITING_PAY".into();
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
    if !matches!(o.status.as_str(), "NEGOTIATING" | "AWAITING_PAY") {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("cannot cancel in state {}", o.status),
        ));
    }
    let now = st.now();
    sqlx::query("UPDATE app_orders SET status = 'CANCELLED', updated_at = $2 WHERE order_id = $1")
        .bind(id.0.as_slice())
        .bind(now)
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
    fn from_row(r: &PgRow) -> Self {
        let dec = r.get::<i16, _>("token_decimals") as u32;
        let units = |c: &str| format_units(&r.get::<String, _>(c), dec);
        let bytes = |c: &str| hex0x(&r.get::<Vec<u8>, _>(c));
        let opt_bytes = |c: &str| r.get::<Option<Vec<u8>>, _>(c).as_deref().map(hex0x);
        Self {
            order_id: bytes("order_id"),
            chain_id: r.get("chain_id"),
            escrow: bytes("escrow"),
            token: bytes("token"),
            token_decimals: dec,
            buyer: bytes("buyer"),
            seller: bytes("seller"),
            amount: units("amount"),
            state: r.get("state"),
            state_since: r.get("state_since"),
            deliver_by: r.get("deliver_by"),
            terms_hash: bytes("terms_hash"),
            fee_bps: r.get("fee_bps"),
            review_window: r.get("review_window"),
            arbiter_window: r.get("arbiter_window"),
            default_seller_bps: r.get("default_seller_bps"),
            proof: Proof {
                hash: opt_bytes("proof_hash"),
                uri: r.get("proof_uri"),
            },
            rejections: r.get("rejections"),
            settlement: Settlement {
                proposer: opt_bytes("settlement_proposer"),
                seller_bps: r.get("settlement_bps"),
            },
            resolution: r.get("resolution"),
            refund_reason: r.get("refund_reason"),
            payouts: Payouts {
                buyer: units("buyer_paid"),
                seller: units("seller_paid"),
                fee: units("fee_paid"),
                deferred: units("deferred"),
            },
            next_action: r
                .get::<Option<String>, _>("next_action")
                .map(|action| NextAction {
                    action,
                    at: r.get("next_action_at"),
                }),
            funded: Funded {
                block: r.get("funded_block"),
                tx: bytes("funded_tx"),
            },
            updated: Updated {
                block: r.get("updated_block"),
                log_index: r.get("updated_log_index"),
                at: r.get("updated_at"),
            },
        }
    }
}

/// The chain row of an order (any chain unless `chain_id` is given).
async fn chain_order(
    st: &AppState,
    id: &OrderId,
    chain_id: Option<i64>,
) -> ApiResult<Option<PgRow>> {
    static BY_ID: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {CHAIN_COLUMNS} FROM escrow_orders WHERE order_id = $1 LIMIT 1")
    });
    static BY_CHAIN_ID: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {CHAIN_COLUMNS} FROM escrow_orders WHERE order_id = $1 AND chain_id = $2 LIMIT 1"
        )
    });
    let q = match chain_id {
        None => sqlx::query(BY_ID.as_str()).bind(id.0.as_slice()),
        Some(c) => sqlx::query(BY_CHAIN_ID.as_str())
            .bind(id.0.as_slice())
            .bind(c),
    };
    Ok(q.fetch_optional(&st.pool).await?)
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
            let terms_match = app.as_ref().map(|o| {
                o.terms_hash.as_deref() == c.get::<Option<Vec<u8>>, _>("terms_hash").as_deref()
            });
            Ok(Json(OrderView::Chain(Box::new(ChainOrderView {
                order: ChainOrder::from_row(&c),
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

/// Paging of `GET /v1/orders/{id}/messages` and `GET /v1/negotiations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
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
    let rows = sqlx::query(
        "SELECT block_number, log_index, tx_hash, block_timestamp, event, actor, state_after, args
         FROM escrow_events WHERE chain_id = $1 AND escrow = $2 AND order_id = $3
           AND (block_number, log_index) > ($4, $5::INTEGER)
         ORDER BY block_number, log_index LIMIT $6",
    )
    .bind(c.get::<i64, _>("chain_id"))
    .bind(c.get::<Vec<u8>, _>("escrow"))
    .bind(id.0.as_slice())
    .bind(after_block)
    .bind(after_log)
    .bind(limit + 1)
    .fetch_all(&st.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<Event> = rows
        .iter()
        .take(limit as usize)
        .map(|r| Event {
            block_number: r.get("block_number"),
            log_index: r.get("log_index"),
            tx_hash: hex0x(&r.get::<Vec<u8>, _>("tx_hash")),
            block_timestamp: r.get("block_timestamp"),
            event: r.get("event"),
            actor: r.get::<Option<Vec<u8>>, _>("actor").as_deref().map(hex0x),
            state_after: r.get("state_after"),
            args: r.get("args"),
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
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
        "SELECT {CHAIN_COLUMNS} FROM escrow_orders WHERE true"
    ));
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
            sqlx::query_as::<_, (Vec<u8>,)>(
                "SELECT x.address FROM agent_addresses x JOIN agents a ON a.id = x.agent_id WHERE a.handle = $1",
            )
            .bind(p)
            .fetch_all(&st.pool)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect()
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
    let rows = qb.build().persistent(false).fetch_all(&st.pool).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<ChainOrder> = rows
        .iter()
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
    let rows: Vec<AppOrder> = sqlx::query_as(&format!(
        "{APP_ORDER_SQL} WHERE (o.buyer_agent = $1 OR o.seller_agent = $1)
           AND (o.created_at, o.order_id) < ($2, $3)
         ORDER BY o.created_at DESC, o.order_id DESC LIMIT $4"
    ))
    .bind(auth.agent_id)
    .bind(before_at)
    .bind(before_id)
    .bind(limit + 1)
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
) -> ApiResult<(StatusCode, Json<Message>)> {
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
    let (mid,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (order_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id.0.as_slice())
    .bind(auth.agent_id)
    .bind(&body)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
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
    Ok((StatusCode::CREATED, Json(msg)))
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
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT m.id, a.handle, m.body, m.created_at FROM messages m JOIN agents a ON a.id = m.author
         WHERE m.order_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
    )
    .bind(id.0.as_slice())
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&mut *conn)
    .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of `api/README.md`, "Terms hash" (hash checked with `cast keccak`).
    #[test]
    fn canonical_terms_match_the_documented_vector() {
        let details = "Two endpoints: \"orders\" & \"search\"\nTabs\tand ünïcode ✓";
        let t = CanonicalTerms {
            amount: "95500000",
            chain_id: 31337,
            deliver_by: 1_800_604_800,
            details,
            escrow: "0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512"
                .parse()
                .unwrap(),
            order_id: "0xb36c30c9bcaa21818b63ce45c35390f98a74301f782b6e19b6765622458acebe"
                .parse()
                .unwrap(),
            seller: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                .parse()
                .unwrap(),
            token: "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                .parse()
                .unwrap(),
        };
        let canonical = r#"{"amount":"95500000","chain_id":31337,"deliver_by":1800604800,"details":"Two endpoints: \"orders\" & \"search\"\nTabs\tand ünïcode ✓","escrow":"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512","order_id":"0xb36c30c9bcaa21818b63ce45c35390f98a74301f782b6e19b6765622458acebe","seller":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","token":"0x5fbdb2315678afecb367f032d93f642f64180aa3"}"#;
        assert_eq!(t.canonical(), canonical);
        assert_eq!(
            t.hash().to_string(),
            "0xd5c76bb030d8a706750dbcbf9f508302bf357492e75d80f7ae6756da60ffb83b"
        );
        // The canonical string is JSON whose fields read back as the terms.
        let v: Value = serde_json::from_str(canonical).unwrap();
        assert_eq!(v["details"], details);
        assert_eq!(v["deliver_by"], 1_800_604_800);
        // Leading zeros of the amount do not change the hash; details without text are "".
        assert_eq!(
            CanonicalTerms {
                amount: "0095500000",
                ..t
            }
            .hash(),
            t.hash()
        );
        let empty = CanonicalTerms { details: "", ..t }.canonical();
        assert!(empty.contains(r#","details":"","#), "{empty}");
        // Every field is covered.
        let others = [
            CanonicalTerms {
                amount: "95500001",
                ..t
            },
            CanonicalTerms { chain_id: 1, ..t },
            CanonicalTerms {
                deliver_by: 1_800_604_801,
                ..t
            },
            CanonicalTerms {
                details: "other",
                ..t
            },
            CanonicalTerms {
                escrow: Address::ZERO,
                ..t
            },
            CanonicalTerms {
                order_id: B256::ZERO,
                ..t
            },
            CanonicalTerms {
                seller: Address::ZERO,
                ..t
            },
            CanonicalTerms {
                token: Address::ZERO,
                ..t
            },
        ];
        for o in others {
            assert_ne!(o.hash(), t.hash(), "{}", o.canonical());
        }
    }
}
