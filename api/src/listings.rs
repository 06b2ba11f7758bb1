//! Listings (services offered, bounties wanted) and their search.

use crate::reply::Created;
use crate::{
    AppState,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    types::{Amount, Cursor, Page, format_price, hex0x, limit, parse_address, text},
};
use axum::{Json, extract::State};
use pact_db::states::{ListingKind, ListingStatus};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Postgres, QueryBuilder};

/// A category or tag: lowercase `a-z 0-9 -`, 1..=max characters.
fn slug(field: &'static str, s: &str, max: usize) -> ApiResult<String> {
    let ok = (1..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} must be 1-{max} characters of a-z, 0-9 or '-'"),
        ))
    }
}

fn tags(v: &[String]) -> ApiResult<Vec<String>> {
    if v.len() > 10 {
        return Err(ApiError::unprocessable("invalid_field", "at most 10 tags"));
    }
    let mut out = v
        .iter()
        .map(|t| slug("tag", t, 30))
        .collect::<ApiResult<Vec<_>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn kind(s: &str) -> ApiResult<ListingKind> {
    ListingKind::parse(s).ok_or_else(|| {
        ApiError::unprocessable("invalid_field", "kind must be \"offer\" or \"bounty\"")
    })
}

/// A settlement token the API accepts.
#[derive(Debug, Clone)]
pub struct Token {
    /// Chain id.
    pub chain_id: i64,
    /// Token address.
    pub token: Vec<u8>,
    /// Escrow for the token.
    pub escrow: Vec<u8>,
    /// Decimals.
    pub decimals: i16,
}

/// Resolves the token of a request: the given one, or the only one configured.
pub async fn resolve_token(
    st: &AppState,
    chain_id: Option<i64>,
    token: Option<&str>,
) -> ApiResult<Token> {
    let token = token.map(|t| parse_address("token", t)).transpose()?;
    let rows: Vec<(i64, Vec<u8>, Vec<u8>, i16)> = sqlx::query!(
        "SELECT chain_id, token, escrow, decimals FROM api_tokens
         WHERE ($1::BIGINT IS NULL OR chain_id = $1) AND ($2::BYTEA IS NULL OR token = $2)
         ORDER BY chain_id, token LIMIT 2",
        chain_id,
        token.map(|t| t.to_vec()),
    )
    .fetch_all(&st.pool)
    .await?
    .into_iter()
    .map(|r| (r.chain_id, r.token, r.escrow, r.decimals))
    .collect();
    match rows.as_slice() {
        [(chain_id, token, escrow, decimals)] => Ok(Token {
            chain_id: *chain_id,
            token: token.clone(),
            escrow: escrow.clone(),
            decimals: *decimals,
        }),
        [] => Err(ApiError::unprocessable(
            "unknown_token",
            "token is not accepted here",
        )),
        _ => Err(ApiError::unprocessable(
            "token_required",
            "several tokens are accepted: give chain_id and token",
        )),
    }
}

/// `POST /v1/listings` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListing {
    /// `offer` (a service offered) or `bounty` (work wanted).
    #[schemars(extend("enum" = ["offer", "bounty"]))]
    kind: String,
    /// 3-120 characters.
    title: String,
    /// 1-5000 characters.
    description: String,
    /// 1-40 characters of a-z, 0-9 or `-`.
    #[schemars(regex(pattern = r"^[a-z0-9-]{1,40}$"))]
    category: String,
    /// At most 10 tags of a-z, 0-9 or `-`.
    #[serde(default)]
    tags: Vec<String>,
    /// Decimal string in token units with at most the token's decimals, e.g. `"25.50"`.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?$"))]
    price: String,
    /// Needed with `token` when several tokens are accepted.
    #[serde(default)]
    chain_id: Option<i64>,
    /// Settlement token address; the only accepted one when omitted.
    #[serde(default)]
    token: Option<String>,
}

/// A listing.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing {
    /// Listing id.
    pub id: i64,
    /// `offer` or `bounty`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Category slug.
    pub category: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Price in token units with the token's decimals, e.g. `"25.500000"`.
    pub price: String,
    /// Chain of the settlement token.
    pub chain_id: i64,
    /// Settlement token address.
    pub token: String,
    /// Decimals of the token.
    pub token_decimals: i16,
    /// `open` or `closed`.
    pub status: String,
    /// Handle of the owner.
    pub owner: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A listing with its owner, as the reads select it.
#[derive(Debug, sqlx::FromRow)]
struct ListingRow {
    id: i64,
    kind: String,
    title: String,
    description: String,
    category: String,
    tags: Vec<String>,
    price: Decimal,
    chain_id: i64,
    token: Vec<u8>,
    token_decimals: i16,
    status: String,
    created_at: i64,
    updated_at: i64,
    agent_id: i64,
    handle: String,
}

/// The columns of a [`ListingRow`], for the search's dynamic statements (the one static read,
/// [`fetch`], names the same columns in its checked query).
const COLUMNS: &str = "l.id, l.kind, l.title, l.description, l.category, l.tags, l.price, l.chain_id, \
     l.token, l.token_decimals, l.status, l.created_at, l.updated_at, l.agent_id, a.handle";

impl Listing {
    fn from_row(r: &ListingRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            category: r.category.clone(),
            tags: r.tags.clone(),
            price: format_price(r.price, r.token_decimals as u32),
            chain_id: r.chain_id,
            token: hex0x(&r.token),
            token_decimals: r.token_decimals,
            status: r.status.clone(),
            owner: r.handle.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

async fn fetch(st: &AppState, id: i64) -> ApiResult<ListingRow> {
    sqlx::query_as!(
        ListingRow,
        "SELECT l.id, l.kind, l.title, l.description, l.category, l.tags, l.price, l.chain_id,
                l.token, l.token_decimals, l.status, l.created_at, l.updated_at, l.agent_id, a.handle
         FROM listings l JOIN agents a ON a.id = l.agent_id WHERE l.id = $1",
        id,
    )
    .fetch_optional(&st.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("listing"))
}

/// Creates a listing.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn create(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CreateListing>,
) -> ApiResult<Created<Listing>> {
    let kind = kind(&b.kind)?;
    let title = text("title", &b.title, 3, 120)?;
    let description = text("description", &b.description, 1, 5000)?;
    let category = slug("category", &b.category, 40)?;
    let tags = tags(&b.tags)?;
    let token = resolve_token(&st, b.chain_id, b.token.as_deref()).await?;
    let price = Amount::parse("price", &b.price, token.decimals as u32)?;
    let now = st.now();
    let (id,): (i64,) = sqlx::query!(
        "INSERT INTO listings (agent_id, kind, title, description, category, tags, price, chain_id,
                               token, token_decimals, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        auth.agent_id,
        kind.as_str(),
        &title,
        &description,
        &category,
        &tags,
        price.0,
        token.chain_id,
        &token.token,
        token.decimals,
        now,
    )
    .fetch_one(&st.pool)
    .await
    .map(|r| (r.id,))?;
    let row = fetch(&st, id).await?;
    Ok(Created(Listing::from_row(&row)))
}

/// `GET /v1/listings/{id}`.
pub async fn get(
    State(st): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Listing>> {
    let row = fetch(&st, id).await?;
    Ok(Json(Listing::from_row(&row)))
}

/// `PATCH /v1/listings/{id}` body: the fields to change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchListing {
    /// 3-120 characters.
    #[serde(default)]
    title: Option<String>,
    /// 1-5000 characters.
    #[serde(default)]
    description: Option<String>,
    /// 1-40 characters of a-z, 0-9 or `-`.
    #[serde(default)]
    category: Option<String>,
    /// At most 10 tags (replaces the tags).
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// Decimal string in token units.
    #[serde(default)]
    price: Option<String>,
}

async fn owned_open(st: &AppState, auth: &Auth, id: i64) -> ApiResult<ListingRow> {
    let row = fetch(st, id).await?;
    if row.agent_id != auth.agent_id {
        return Err(ApiError::forbidden(
            "not_owner",
            "only the listing's owner may change it",
        ));
    }
    if ListingStatus::parse(&row.status) != Some(ListingStatus::Open) {
        return Err(ApiError::conflict(
            "listing_closed",
            "the listing is closed",
        ));
    }
    Ok(row)
}

/// Edits a listing (owner only, while open).
#[tracing::instrument(skip_all, fields(agent = auth.agent_id, listing = id), err(level = "info", Debug))]
pub async fn patch(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<PatchListing>,
) -> ApiResult<Json<Listing>> {
    let row = owned_open(&st, &auth, id).await?;
    let decimals = row.token_decimals;
    let title = b
        .title
        .as_deref()
        .map(|t| text("title", t, 3, 120))
        .transpose()?;
    let description = b
        .description
        .as_deref()
        .map(|t| text("description", t, 1, 5000))
        .transpose()?;
    let category = b
        .category
        .as_deref()
        .map(|c| slug("category", c, 40))
        .transpose()?;
    let tags = b.tags.as_deref().map(tags).transpose()?;
    let price = b
        .price
        .as_deref()
        .map(|p| Amount::parse("price", p, decimals as u32))
        .transpose()?;
    sqlx::query!(
        "UPDATE listings SET title = COALESCE($2, title), description = COALESCE($3, description),
            category = COALESCE($4, category), tags = COALESCE($5, tags), price = COALESCE($6, price),
            updated_at = $7
         WHERE id = $1",
        id,
        title,
        description,
        category,
        tags.as_deref(),
        price.map(|p| p.0),
        st.now(),
    )
    .execute(&st.pool)
    .await?;
    let row = fetch(&st, id).await?;
    Ok(Json(Listing::from_row(&row)))
}

/// Closes a listing (owner only). Takes no body, or an empty JSON object: anything else is a 400
/// `invalid_body` and closes nothing.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id, listing = id), err(level = "info", Debug))]
pub async fn close(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Listing>> {
    let empty_object = || {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
            .is_ok_and(|m| m.is_empty())
    };
    if !body.is_empty() && !empty_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "closing a listing takes no body (or the empty JSON object {})",
        ));
    }
    owned_open(&st, &auth, id).await?;
    sqlx::query!(
        "UPDATE listings SET status = $3, updated_at = $2 WHERE id = $1",
        id,
        st.now(),
        ListingStatus::Closed.as_str(),
    )
    .execute(&st.pool)
    .await?;
    let row = fetch(&st, id).await?;
    Ok(Json(Listing::from_row(&row)))
}

/// `GET /v1/listings` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Full text (web search syntax: words, `"a phrase"`, `or`, `-word`); every word must occur
    /// in the title, category or description.
    #[serde(default)]
    q: Option<String>,
    /// `offer` or `bounty`.
    #[serde(default)]
    #[schemars(extend("enum" = ["offer", "bounty"]))]
    kind: Option<String>,
    /// Category slug.
    #[serde(default)]
    category: Option<String>,
    /// Comma-separated; a listing must carry all of them.
    #[serde(default)]
    tags: Option<String>,
    /// Lowest price, token units.
    #[serde(default)]
    min_price: Option<String>,
    /// Highest price, token units.
    #[serde(default)]
    max_price: Option<String>,
    /// Handle of the owner.
    #[serde(default)]
    owner: Option<String>,
    /// `open` (default), `closed` or `all`.
    #[serde(default)]
    #[schemars(extend("enum" = ["open", "closed", "all"]))]
    status: Option<String>,
    /// `relevance` (the default with `q`: listings whose title and category contain the query,
    /// then those matching in the description, newest first within each), `newest` (the default
    /// without `q`), `price_asc`, `price_desc`.
    #[serde(default)]
    #[schemars(extend("enum" = ["relevance", "newest", "price_asc", "price_desc"]))]
    sort: Option<String>,
    /// Page size, 1-100 (default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (same query and sort).
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Relevance,
}

/// The relevance tier of a text match: the head (title and category) alone satisfies the query,
/// or the description is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Body = 0,
    Head = 1,
}

/// The filters of a search, checked once and pushed into every statement of the search.
struct Filters {
    text: Option<String>,
    status: Option<ListingStatus>,
    kind: Option<ListingKind>,
    category: Option<String>,
    tags: Vec<String>,
    min_price: Option<Decimal>,
    max_price: Option<Decimal>,
    owner: Option<String>,
}

impl Filters {
    fn parse(q: &SearchQuery, text_q: Option<String>) -> ApiResult<Self> {
        let bad_q = |m: &str| ApiError::bad_request("invalid_query", m.to_string());
        let status = match q.status.as_deref() {
            None | Some("open") => Some(ListingStatus::Open),
            Some("closed") => Some(ListingStatus::Closed),
            Some("all") => None,
            Some(_) => return Err(bad_q("status must be open, closed or all")),
        };
        let kind = q
            .kind
            .as_deref()
            .map(|k| kind(k).map_err(|_| bad_q("kind must be offer or bounty")))
            .transpose()?;
        let category = q
            .category
            .as_deref()
            .map(|c| slug("category", c, 40).map_err(|e| bad_q(&e.message())))
            .transpose()?;
        let tags = match &q.tags {
            Some(t) => {
                let t: Vec<String> = t.split(',').map(|s| s.trim().to_string()).collect();
                tags(&t).map_err(|e| bad_q(&e.message()))?
            }
            None => vec![],
        };
        let bound = |field: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|p| {
                    Amount::parse_bound(field, p, 18)
                        .map(|a| a.0)
                        .map_err(|e| bad_q(&e.message()))
                })
                .transpose()
        };
        let owner = q
            .owner
            .as_deref()
            .map(|o| {
                crate::types::Handle::parse(o)
                    .map(|h| h.as_str().to_string())
                    .map_err(|e| bad_q(&e.message()))
            })
            .transpose()?;
        Ok(Self {
            text: text_q,
            status,
            kind,
            category,
            tags,
            min_price: bound("min_price", &q.min_price)?,
            max_price: bound("max_price", &q.max_price)?,
            owner,
        })
    }

    /// `SELECT … FROM listings l JOIN agents a … WHERE` every filter; the text condition on the
    /// whole listing only `with_text`.
    fn select(&self, with_text: bool) -> QueryBuilder<'_, Postgres> {
        let mut qb = QueryBuilder::new("SELECT ");
        qb.push(COLUMNS)
            .push(" FROM listings l JOIN agents a ON a.id = l.agent_id WHERE true");
        if let Some(t) = self.text.as_ref().filter(|_| with_text) {
            qb.push(" AND l.search @@ websearch_to_tsquery('english', ")
                .push_bind(t.as_str())
                .push(")");
        }
        if let Some(s) = self.status {
            qb.push(" AND l.status = ").push_bind(s.as_str());
        }
        if let Some(k) = self.kind {
            qb.push(" AND l.kind = ").push_bind(k.as_str());
        }
        if let Some(c) = &self.category {
            qb.push(" AND l.category = ").push_bind(c.as_str());
        }
        if !self.tags.is_empty() {
            qb.push(" AND l.tags @> ").push_bind(self.tags.clone());
        }
        if let Some(p) = self.min_price {
            qb.push(" AND l.price >= ").push_bind(p);
        }
        if let Some(p) = self.max_price {
            qb.push(" AND l.price <= ").push_bind(p);
        }
        if let Some(o) = &self.owner {
            qb.push(" AND a.handle = ").push_bind(o.as_str());
        }
        qb
    }
}

async fn run(qb: &mut QueryBuilder<'_, Postgres>, st: &AppState) -> ApiResult<Vec<ListingRow>> {
    // Unnamed statement: planned with the actual values, since a term's selectivity decides
    // between walking an ordered index and the GIN index (a cached generic plan guesses badly).
    Ok(qb
        .build_query_as()
        .persistent(false)
        .fetch_all(&st.pool)
        .await?)
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
}

/// Searches listings with keyset pagination.
///
/// `sort=relevance` (the default with `q`) orders by tier, then newest first: first every listing
/// whose title and category alone contain the query (tier 1), then those that need the
/// description (tier 0). Each tier is one statement ordered by `id DESC`, answered from
/// `listings_search_head` or `listings_search` (rare terms) or along `listings_pkey` (frequent
/// terms); the second tier is only read when the first one ends on this page. No per-row rank is
/// computed, so a page costs the same for a term in 30 listings or in 30,000, and a listing's
/// tier depends only on its own text: pages are stable and cover every match.
#[tracing::instrument(skip_all, err(level = "info", Debug))]
pub async fn search(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Page<Listing>>> {
    let text_q = q.q.as_deref().map(|s| text("q", s, 1, 200)).transpose()?;
    let sort = match q.sort.as_deref() {
        None if text_q.is_some() => Sort::Relevance,
        None | Some("newest") => Sort::Newest,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some("relevance") if text_q.is_some() => Sort::Relevance,
        Some("relevance") => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "sort=relevance needs q",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "sort must be newest, price_asc, price_desc or relevance",
            ));
        }
    };
    let limit = limit(q.limit)?;
    let f = Filters::parse(&q, text_q)?;
    // For relevance: how many of the rows (from the start) are head matches.
    let (rows, head_rows) = if sort == Sort::Relevance {
        relevance_page(&st, &f, q.cursor.as_deref(), limit).await?
    } else {
        let rows = ordered_page(&st, &f, sort, q.cursor.as_deref(), limit).await?;
        (rows, 0)
    };
    let more = rows.len() as i64 > limit;
    let shown = rows.len().min(limit as usize);
    let next = if more {
        let r = &rows[shown - 1];
        let id = r.id;
        Some(
            match sort {
                Sort::Newest => Cursor(vec![json!(id)]),
                Sort::PriceAsc | Sort::PriceDesc => {
                    Cursor(vec![json!(r.price.to_string()), json!(id)])
                }
                Sort::Relevance => {
                    let tier = if shown <= head_rows {
                        Tier::Head
                    } else {
                        Tier::Body
                    };
                    Cursor(vec![json!(tier as i64), json!(id)])
                }
            }
            .encode(),
        )
    } else {
        None
    };
    Ok(Json(Page {
        items: rows[..shown].iter().map(Listing::from_row).collect(),
        next_cursor: next,
    }))
}

/// One statement for the `newest` and price sorts: `limit + 1` rows after the cursor.
async fn ordered_page(
    st: &AppState,
    f: &Filters,
    sort: Sort,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<ListingRow>> {
    let mut qb = f.select(true);
    if let Some(c) = cursor {
        if sort == Sort::Newest {
            let c = Cursor::parse(c, 1)?;
            qb.push(" AND l.id < ").push_bind(c.i64(0)?);
        } else {
            let c = Cursor::parse(c, 2)?;
            let p: Decimal = c.str(0)?.parse().map_err(|_| bad_cursor())?;
            let op = if sort == Sort::PriceAsc { ">" } else { "<" };
            qb.push(format!(" AND (l.price, l.id) {op} ("))
                .push_bind(p)
                .push(", ")
                .push_bind(c.i64(1)?)
                .push(")");
        }
    }
    // Several tags are usually selective, but the planner multiplies their frequencies as if
    // independent and may walk the whole id index; then order by an expression so the GIN
    // index is used.
    qb.push(match sort {
        Sort::Newest if f.tags.len() >= 2 => " ORDER BY l.id + 0 DESC",
        Sort::Newest => " ORDER BY l.id DESC",
        Sort::PriceAsc => " ORDER BY l.price ASC, l.id ASC",
        Sort::PriceDesc => " ORDER BY l.price DESC, l.id DESC",
        Sort::Relevance => unreachable!("relevance pages are read by relevance_page"),
    });
    qb.push(" LIMIT ").push_bind(limit + 1);
    run(&mut qb, st).await
}

/// Up to `limit + 1` rows by (tier DESC, id DESC) after the cursor, and how many of them (from
/// the start) are head matches.
async fn relevance_page(
    st: &AppState,
    f: &Filters,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<(Vec<ListingRow>, usize)> {
    let (tier, before) = match cursor {
        Some(c) => {
            let c = Cursor::parse(c, 2)?;
            let tier = match c.i64(0)? {
                1 => Tier::Head,
                0 => Tier::Body,
                _ => return Err(bad_cursor()),
            };
            (tier, Some(c.i64(1)?))
        }
        None => (Tier::Head, None),
    };
    if tier == Tier::Body {
        let rows = run(&mut tier_statement(f, Tier::Body, before, limit + 1), st).await?;
        return Ok((rows, 0));
    }
    let mut rows = run(&mut tier_statement(f, Tier::Head, before, limit + 1), st).await?;
    let head_rows = rows.len();
    if head_rows as i64 <= limit {
        // The head tier ended on this page: the description tier follows, from its start.
        let want = limit + 1 - head_rows as i64;
        rows.extend(run(&mut tier_statement(f, Tier::Body, None, want), st).await?);
    }
    Ok((rows, head_rows))
}

/// The statement of one relevance tier: `want` rows with `id < before`, newest first.
fn tier_statement(
    f: &Filters,
    tier: Tier,
    before: Option<i64>,
    want: i64,
) -> QueryBuilder<'_, Postgres> {
    let text = f.text.as_deref().unwrap_or_default();
    // Without a negation (`-word`) a query that the head satisfies is satisfied by the whole
    // listing too, and leaving out that redundant condition keeps the planner's estimate of the
    // head tier right (it would multiply the two as if independent and pick a bitmap scan of
    // every head match over a walk along the id index).
    let negated = text.contains('-');
    let mut qb = f.select(tier == Tier::Body || negated);
    // The head of a listing is the title and category (weights A and B of `search`). The
    // condition matches `listings_search_head`'s expression exactly.
    qb.push(match tier {
        Tier::Head => " AND ts_filter(l.search, '{a,b}') @@ websearch_to_tsquery('english', ",
        Tier::Body => " AND NOT ts_filter(l.search, '{a,b}') @@ websearch_to_tsquery('english', ",
    })
    .push_bind(text)
    .push(")");
    if let Some(b) = before {
        qb.push(" AND l.id < ").push_bind(b);
    }
    qb.push(" ORDER BY l.id DESC LIMIT ").push_bind(want);
    qb
}
