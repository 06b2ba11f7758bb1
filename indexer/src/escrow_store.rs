//! Writing escrow events and keeping the order projection current, inside the indexer's
//! transactions.

use crate::{
    IndexerError, IndexerResult,
    copy::CopyBuf,
    decode::{ContractKind, Contracts},
    escrow::{Config, Configs, EscrowEvent, Order, state_after},
    log_meta::LogMeta,
};
use alloy::primitives::{Address, B256, U256};
use pact_bindings::{
    escrow::PactEscrow::PactEscrowEvents,
    escrow_enums::{RefundReason, Resolution, State},
    sol_enum::SolEnumNames,
};
use pact_db::bytea::{address as addr, b256 as hash};
use sqlx::{Postgres, Transaction};
use std::collections::{BTreeMap, HashMap};

type Key = (Address, B256);

fn num(s: &str) -> IndexerResult<U256> {
    s.parse()
        .map_err(|_| IndexerError::Inconsistent(format!("stored amount {s:?} malformed")))
}

/// Appends `events` (in chain order) and folds them into `escrow_orders`.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    events: &[EscrowEvent],
    contracts: &Contracts,
) -> IndexerResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let keys: Vec<Key> = {
        let mut k: Vec<Key> = events
            .iter()
            .filter_map(|e| e.order_id().map(|id| (e.meta.address, id)))
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let mut orders = load_orders(tx, chain_id, &keys).await?;
    let mut configs = load_configs(tx, chain_id).await?;
    // Who acted: the event's own field, or for `ProofSubmitted` (only the seller may submit, so the
    // event does not repeat it) the order's seller.
    let mut actors = Vec::with_capacity(events.len());
    for e in events {
        actors.push(match (e.actor(), &e.event, e.order_id()) {
            (None, PactEscrowEvents::ProofSubmitted(_), Some(id)) => {
                orders.get(&(e.meta.address, id)).map(|o| o.seller)
            }
            (actor, _, _) => actor,
        });
        if let Some((id, config)) = Config::from_event(e) {
            save_config(tx, chain_id, e, id, config).await?;
            configs.insert((e.meta.address, id), config);
        }
        let Some(id) = e.order_id() else { continue };
        let key = (e.meta.address, id);
        let (token, decimals) = escrow_token(contracts, &e.meta.address)?;
        let next = Order::apply(orders.remove(&key), e, token, decimals, &configs)?;
        if let Some(o) = next {
            orders.insert(key, o);
        }
    }
    let mut buf = CopyBuf::new();
    for (e, actor) in events.iter().zip(&actors) {
        buf.row(11)
            .log_key(chain_id, &e.meta)
            .i64(e.block_timestamp as i64)
            .bytea(e.meta.address.as_slice())
            .opt_bytea(e.order_id().as_ref().map(|h| h.as_slice()))
            .text(e.name())
            .opt_bytea(actor.as_ref().map(|a| a.as_slice()))
            .opt_text(state_after(e).map(State::name))
            .jsonb(&e.args().to_string());
    }
    let mut copy = tx
        .copy_in_raw(
            "COPY escrow_events (chain_id, block_number, log_index, tx_hash, block_timestamp, escrow, order_id, \
             event, actor, state_after, args) FROM STDIN (FORMAT binary)",
        )
        .await?;
    copy.send(buf.finish()).await?;
    copy.finish().await?;

    replace_orders(tx, chain_id, &keys, orders.values()).await
}

fn escrow_token(contracts: &Contracts, escrow: &Address) -> IndexerResult<(Address, u8)> {
    match contracts.kind(escrow) {
        Some(ContractKind::Escrow { token, decimals }) => Ok((token, decimals)),
        _ => Err(IndexerError::Inconsistent(format!(
            "{escrow} is not a configured escrow"
        ))),
    }
}

/// After the events above `above` were removed (a reorg): rebuilds the projection of every order
/// that had one of them, from the events that remain.
pub async fn rewind(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    above: i64,
    contracts: &Contracts,
) -> IndexerResult<()> {
    let c = chain_id as i64;
    let removed = sqlx::query!(
        r#"DELETE FROM escrow_events WHERE chain_id = $1 AND block_number > $2 AND order_id IS NOT NULL
         RETURNING escrow, order_id AS "order_id!""#,
        c,
        above,
    )
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM escrow_events WHERE chain_id = $1 AND block_number > $2",
        c,
        above,
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "DELETE FROM escrow_configs WHERE chain_id = $1 AND block_number > $2",
        c,
        above,
    )
    .execute(&mut **tx)
    .await?;
    let mut keys: Vec<Key> = removed
        .iter()
        .map(|r| Ok((addr(&r.escrow)?, hash(&r.order_id)?)))
        .collect::<IndexerResult<_>>()?;
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    let (escrows, ids) = key_arrays(&keys);
    let rows = sqlx::query!(
        "SELECT e.block_number, e.log_index, e.tx_hash, e.block_timestamp, e.escrow, e.event, e.args
         FROM escrow_events e JOIN UNNEST($2::bytea[], $3::bytea[]) AS k(escrow, order_id)
           ON e.escrow = k.escrow AND e.order_id = k.order_id
         WHERE e.chain_id = $1 ORDER BY e.block_number, e.log_index",
        c,
        &escrows,
        &ids,
    )
    .fetch_all(&mut **tx)
    .await?;
    let configs = load_configs(tx, chain_id).await?;
    let mut orders: HashMap<Key, Order> = HashMap::new();
    for r in rows {
        let meta = LogMeta {
            block_number: r.block_number as u64,
            log_index: r.log_index as u32,
            tx_hash: hash(&r.tx_hash)?,
            address: addr(&r.escrow)?,
        };
        let serde_json::Value::Object(args) = r.args else {
            return Err(IndexerError::Inconsistent(
                "stored args are not an object".into(),
            ));
        };
        let ev = EscrowEvent::from_stored(meta, r.block_timestamp as u64, &r.event, &args)?;
        let Some(id) = ev.order_id() else { continue };
        let (token, decimals) = escrow_token(contracts, &meta.address)?;
        if let Some(o) = Order::apply(
            orders.remove(&(meta.address, id)),
            &ev,
            token,
            decimals,
            &configs,
        )? {
            orders.insert((meta.address, id), o);
        }
    }
    replace_orders(tx, chain_id, &keys, orders.values()).await
}

async fn load_configs(tx: &mut Transaction<'_, Postgres>, chain_id: u64) -> IndexerResult<Configs> {
    let rows = sqlx::query!(
        "SELECT escrow, config_id, fee_bps, review_window, arbiter_window, default_seller_bps
         FROM escrow_configs WHERE chain_id = $1",
        chain_id as i64,
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let config = Config {
                fee_bps: r.fee_bps as u32,
                review_window: r.review_window as u64,
                arbiter_window: r.arbiter_window as u64,
                default_seller_bps: r.default_seller_bps as u32,
            };
            Ok(((addr(&r.escrow)?, r.config_id as u16), config))
        })
        .collect()
}

async fn save_config(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    e: &EscrowEvent,
    id: u16,
    c: Config,
) -> IndexerResult<()> {
    sqlx::query!(
        "INSERT INTO escrow_configs (chain_id, escrow, config_id, fee_bps, review_window, arbiter_window,
         default_seller_bps, block_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        chain_id as i64,
        e.meta.address.as_slice(),
        id as i32,
        c.fee_bps as i32,
        c.review_window as i64,
        c.arbiter_window as i64,
        c.default_seller_bps as i32,
        e.meta.block_number as i64,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn key_arrays(keys: &[Key]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    keys.iter().map(|(e, id)| (e.to_vec(), id.to_vec())).unzip()
}

/// A stored enum name as its generated enum (`None` stays `None`; an unknown name is an error).
fn stored_member<E: SolEnumNames>(name: Option<&str>, column: &str) -> IndexerResult<Option<E>> {
    name.map(|n| {
        E::from_name(n)
            .ok_or_else(|| IndexerError::Inconsistent(format!("stored {column} {n:?} unknown")))
    })
    .transpose()
}

async fn load_orders(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    keys: &[Key],
) -> IndexerResult<HashMap<Key, Order>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (escrows, ids) = key_arrays(keys);
    let rows = sqlx::query!(
        r#"SELECT o.escrow, o.order_id, o.token, o.token_decimals, o.buyer, o.seller, o.amount::text AS "amount!",
         o.state, o.state_since, o.deliver_by, o.terms_hash, o.fee_bps, o.review_window, o.arbiter_window,
         o.default_seller_bps, o.proof_hash, o.proof_uri, o.rejections, o.settlement_proposer, o.settlement_bps,
         o.resolution, o.refund_reason, o.buyer_paid::text AS "buyer_paid!", o.seller_paid::text AS "seller_paid!",
         o.fee_paid::text AS "fee_paid!", o.deferred::text AS "deferred!", o.funded_block, o.funded_tx,
         o.updated_block, o.updated_log_index, o.updated_at
         FROM escrow_orders o JOIN UNNEST($2::bytea[], $3::bytea[]) AS k(escrow, order_id)
           ON o.escrow = k.escrow AND o.order_id = k.order_id
         WHERE o.chain_id = $1"#,
        chain_id as i64,
        &escrows,
        &ids,
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let o = Order {
            escrow: addr(&r.escrow)?,
            order_id: hash(&r.order_id)?,
            token: addr(&r.token)?,
            token_decimals: r.token_decimals as u8,
            buyer: addr(&r.buyer)?,
            seller: addr(&r.seller)?,
            amount: num(&r.amount)?,
            state: State::from_name(&r.state)
                .filter(|s| *s != State::NONE)
                .ok_or_else(|| IndexerError::Inconsistent("stored order state unknown".into()))?,
            state_since: r.state_since as u64,
            deliver_by: r.deliver_by as u64,
            terms_hash: hash(&r.terms_hash)?,
            fee_bps: r.fee_bps as u32,
            review_window: r.review_window as u64,
            arbiter_window: r.arbiter_window as u64,
            default_seller_bps: r.default_seller_bps as u32,
            proof_hash: r.proof_hash.as_deref().map(hash).transpose()?,
            proof_uri: r.proof_uri,
            rejections: r.rejections as u32,
            settlement_proposer: r.settlement_proposer.as_deref().map(addr).transpose()?,
            settlement_bps: r.settlement_bps.map(|v| v as u32),
            resolution: stored_member(r.resolution.as_deref(), "resolution")?,
            refund_reason: stored_member(r.refund_reason.as_deref(), "refund_reason")?,
            buyer_paid: num(&r.buyer_paid)?,
            seller_paid: num(&r.seller_paid)?,
            fee_paid: num(&r.fee_paid)?,
            deferred: num(&r.deferred)?,
            funded_block: r.funded_block as u64,
            funded_tx: hash(&r.funded_tx)?,
            updated_block: r.updated_block as u64,
            updated_log_index: r.updated_log_index as u32,
            updated_at: r.updated_at as u64,
        };
        out.insert((o.escrow, o.order_id), o);
    }
    Ok(out)
}

async fn replace_orders<'a>(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    keys: &[Key],
    orders: impl Iterator<Item = &'a Order>,
) -> IndexerResult<()> {
    let (escrows, ids) = key_arrays(keys);
    sqlx::query!(
        "DELETE FROM escrow_orders o USING UNNEST($2::bytea[], $3::bytea[]) AS k(escrow, order_id)
         WHERE o.chain_id = $1 AND o.escrow = k.escrow AND o.order_id = k.order_id",
        chain_id as i64,
        &escrows,
        &ids,
    )
    .execute(&mut **tx)
    .await?;
    // Deterministic row order (same physical result for the same input).
    let sorted: BTreeMap<Key, &Order> = orders.map(|o| ((o.escrow, o.order_id), o)).collect();
    if sorted.is_empty() {
        return Ok(());
    }
    let mut buf = CopyBuf::new();
    for o in sorted.values() {
        let next = o.next_action();
        buf.row(34)
            .i64(chain_id as i64)
            .bytea(o.escrow.as_slice())
            .bytea(o.order_id.as_slice())
            .bytea(o.token.as_slice())
            .i16(o.token_decimals as i16)
            .bytea(o.buyer.as_slice())
            .bytea(o.seller.as_slice())
            .numeric(o.amount)
            .text(o.state.name())
            .i64(o.state_since as i64)
            .i64(o.deliver_by as i64)
            .bytea(o.terms_hash.as_slice())
            .i32(o.fee_bps as i32)
            .i64(o.review_window as i64)
            .i64(o.arbiter_window as i64)
            .i32(o.default_seller_bps as i32)
            .opt_bytea(o.proof_hash.as_ref().map(|h| h.as_slice()))
            .opt_text(o.proof_uri.as_deref())
            .i32(o.rejections as i32)
            .opt_bytea(o.settlement_proposer.as_ref().map(|a| a.as_slice()))
            .opt_i32(o.settlement_bps.map(|v| v as i32))
            .opt_text(o.resolution.map(Resolution::name))
            .opt_text(o.refund_reason.map(RefundReason::name))
            .numeric(o.buyer_paid)
            .numeric(o.seller_paid)
            .numeric(o.fee_paid)
            .numeric(o.deferred)
            .opt_text(next.map(|n| n.0.name()))
            .opt_i64(next.map(|n| n.1 as i64))
            .i64(o.funded_block as i64)
            .bytea(o.funded_tx.as_slice())
            .i64(o.updated_block as i64)
            .i32(o.updated_log_index as i32)
            .i64(o.updated_at as i64);
    }
    let mut copy = tx
        .copy_in_raw(
            "COPY escrow_orders (chain_id, escrow, order_id, token, token_decimals, buyer, seller, amount, state, \
             state_since, deliver_by, terms_hash, fee_bps, review_window, arbiter_window, default_seller_bps, \
             proof_hash, proof_uri, rejections, settlement_proposer, settlement_bps, resolution, refund_reason, \
             buyer_paid, seller_paid, fee_paid, deferred, next_action, next_action_at, funded_block, funded_tx, \
             updated_block, updated_log_index, updated_at) FROM STDIN (FORMAT binary)",
        )
        .await?;
    copy.send(buf.finish()).await?;
    copy.finish().await?;
    Ok(())
}
