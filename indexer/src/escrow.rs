//! PactEscrow: its events as audit rows and the per-order projection folded from them.
//!
//! The fold works on the stored form of an event (name + JSON arguments), so the projection can be
//! rebuilt from `escrow_events` alone after a reorg, exactly as it was built live.

use crate::{
    IndexerError, IndexerResult,
    abi::{DecodedLog, arg, parse},
    decode::LogMeta,
};
use alloy::primitives::{Address, B256, U256};
use serde_json::{Map, Value};

/// One `escrow_events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct EscrowEvent {
    /// Where it happened.
    pub meta: LogMeta,
    /// Timestamp of its block.
    pub block_timestamp: u64,
    /// The order, for order events.
    pub order_id: Option<B256>,
    /// The Solidity event name.
    pub event: String,
    /// Who caused it (the buyer for `OrderFunded`), when the event says.
    pub actor: Option<Address>,
    /// Decoded arguments.
    pub args: Map<String, Value>,
}

/// The contract's `MAX_REJECTIONS`: the rejection that reaches it disputes the order instead.
const MAX_REJECTIONS: u64 = 3;

/// The order state an event moves its order to, if it is a transition. The rejection that disputes
/// the order is not one: the `DisputeOpened` right after it is.
pub fn state_after(ev: &EscrowEvent) -> Option<&'static str> {
    if ev.event == "ProofRejected" && ev.u64("rejections").is_ok_and(|n| n >= MAX_REJECTIONS) {
        return None;
    }
    Some(match ev.event.as_str() {
        "OrderFunded" => "ESCROWED",
        "DeliveryStarted" => "DELIVERING",
        "ProofSubmitted" => "PROOF_SUBMITTED",
        "ReviewStarted" => "REVIEWING",
        "ProofRejected" => "DELIVERING",
        "DisputeOpened" => "DISPUTED",
        "OrderCompleted" => "COMPLETED",
        "OrderRefunded" => "REFUNDED",
        "OrderResolved" => "RESOLVED",
        _ => return None,
    })
}

impl EscrowEvent {
    /// Builds the row of a decoded escrow log.
    pub fn new(meta: LogMeta, block_timestamp: u64, decoded: DecodedLog) -> IndexerResult<Self> {
        let DecodedLog { name, args } = decoded;
        let order_id = match args.get("orderId") {
            Some(_) => Some(parse::<B256>(&args, &name, "orderId")?),
            None => None,
        };
        let actor_key = if name == "OrderFunded" {
            "buyer"
        } else {
            "actor"
        };
        let actor = match args.get(actor_key) {
            Some(_) => Some(parse::<Address>(&args, &name, actor_key)?),
            None => None,
        };
        Ok(Self {
            meta,
            block_timestamp,
            order_id,
            event: name,
            actor,
            args,
        })
    }

    fn u256(&self, key: &str) -> IndexerResult<U256> {
        parse(&self.args, &self.event, key)
    }
    fn u64(&self, key: &str) -> IndexerResult<u64> {
        parse(&self.args, &self.event, key)
    }
    fn b256(&self, key: &str) -> IndexerResult<B256> {
        parse(&self.args, &self.event, key)
    }
    fn address(&self, key: &str) -> IndexerResult<Address> {
        parse(&self.args, &self.event, key)
    }
}

/// A settings snapshot (`ConfigUpdated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Config {
    pub fee_bps: u32,
    pub review_window: u64,
    pub arbiter_window: u64,
    pub default_seller_bps: u32,
}

impl Config {
    /// The snapshot a `ConfigUpdated` event announces, with its id.
    pub fn from_event(ev: &EscrowEvent) -> IndexerResult<Option<(u16, Self)>> {
        if ev.event != "ConfigUpdated" {
            return Ok(None);
        }
        Ok(Some((
            ev.u64("configId")? as u16,
            Self {
                fee_bps: ev.u64("feeBps")? as u32,
                review_window: ev.u64("reviewWindow")?,
                arbiter_window: ev.u64("arbiterWindow")?,
                default_seller_bps: ev.u64("defaultSellerBps")? as u32,
            },
        )))
    }
}

/// Settings snapshots by (escrow, config id).
pub type Configs = std::collections::HashMap<(Address, u16), Config>;

/// One `escrow_orders` row: the current state of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Order {
    pub escrow: Address,
    pub order_id: B256,
    pub token: Address,
    pub token_decimals: u8,
    pub buyer: Address,
    pub seller: Address,
    pub amount: U256,
    pub state: &'static str,
    pub state_since: u64,
    pub deliver_by: u64,
    pub terms_hash: B256,
    pub fee_bps: u32,
    pub review_window: u64,
    pub arbiter_window: u64,
    pub default_seller_bps: u32,
    pub proof_hash: Option<B256>,
    pub proof_uri: Option<String>,
    pub rejections: u32,
    pub settlement_proposer: Option<Address>,
    pub settlement_bps: Option<u32>,
    pub resolution: Option<&'static str>,
    pub refund_reason: Option<&'static str>,
    pub buyer_paid: U256,
    pub seller_paid: U256,
    pub fee_paid: U256,
    pub deferred: U256,
    pub funded_block: u64,
    pub funded_tx: B256,
    pub updated_block: u64,
    pub updated_log_index: u32,
    pub updated_at: u64,
}

pub use pact_bindings::escrow_enums::{REFUND_REASONS, RESOLUTIONS};

fn enum_name(
    names: &'static [&'static str],
    ev: &EscrowEvent,
    key: &str,
) -> IndexerResult<&'static str> {
    let i: usize = ev.u64(key)? as usize;
    names
        .get(i)
        .copied()
        .ok_or_else(|| IndexerError::Inconsistent(format!("{}: unknown {key} {i}", ev.event)))
}

impl Order {
    /// The next automatic step and when it is due (mirrors `PactEscrow.nextDeadline` for the
    /// stored state).
    pub fn next_action(&self) -> Option<(&'static str, u64)> {
        match self.state {
            "ESCROWED" | "DELIVERING" => Some(("REFUND_EXPIRED", self.deliver_by + 1)),
            "PROOF_SUBMITTED" => Some(("START_REVIEW", self.state_since + self.review_window)),
            "REVIEWING" => Some(("COMPLETE", self.state_since + self.review_window)),
            "DISPUTED" => Some(("DEFAULT_RULING", self.state_since + self.arbiter_window)),
            _ => None,
        }
    }

    /// Folds `ev` into `order` (`None` before `OrderFunded`). Events that do not concern orders
    /// leave it unchanged. `configs` holds the settings snapshots announced so far.
    pub fn apply(
        order: Option<Self>,
        ev: &EscrowEvent,
        token: Address,
        token_decimals: u8,
        configs: &Configs,
    ) -> IndexerResult<Option<Self>> {
        let Some(order_id) = ev.order_id else {
            return Ok(order);
        };
        if ev.event == "OrderFunded" {
            if order.is_some() {
                return Err(IndexerError::Inconsistent(format!(
                    "order {order_id} funded twice"
                )));
            }
            let config_id = ev.u64("configId")? as u16;
            let config = configs.get(&(ev.meta.address, config_id)).ok_or_else(|| {
                IndexerError::Inconsistent(format!(
                    "order {order_id} uses config {config_id}, never announced (is the start block after the escrow's deployment?)"
                ))
            })?;
            return Ok(Some(Self {
                escrow: ev.meta.address,
                order_id,
                token,
                token_decimals,
                buyer: ev.address("buyer")?,
                seller: ev.address("seller")?,
                amount: ev.u256("amount")?,
                state: "ESCROWED",
                state_since: ev.block_timestamp,
                deliver_by: ev.u64("deliverBy")?,
                terms_hash: ev.b256("termsHash")?,
                fee_bps: config.fee_bps,
                review_window: config.review_window,
                arbiter_window: config.arbiter_window,
                default_seller_bps: config.default_seller_bps,
                proof_hash: None,
                proof_uri: None,
                rejections: 0,
                settlement_proposer: None,
                settlement_bps: None,
                resolution: None,
                refund_reason: None,
                buyer_paid: U256::ZERO,
                seller_paid: U256::ZERO,
                fee_paid: U256::ZERO,
                deferred: U256::ZERO,
                funded_block: ev.meta.block_number,
                funded_tx: ev.meta.tx_hash,
                updated_block: ev.meta.block_number,
                updated_log_index: ev.meta.log_index,
                updated_at: ev.block_timestamp,
            }));
        }
        let Some(mut o) = order else {
            return Err(IndexerError::Inconsistent(format!(
                "{} for unknown order {order_id}",
                ev.event
            )));
        };
        if let Some(state) = state_after(ev) {
            o.state = state;
            o.state_since = ev.block_timestamp;
        }
        match ev.event.as_str() {
            "ProofSubmitted" => {
                o.proof_hash = Some(ev.b256("proofHash")?);
                // An empty URI (`submitProofHash`, or `submitProof` with "") means none was given.
                let uri = arg(&ev.args, &ev.event, "proofURI")?;
                o.proof_uri = (!uri.is_empty()).then(|| uri.to_string());
            }
            // An automatic start counts from when it became due, not from when it was fired.
            "ReviewStarted" => o.state_since = ev.u64("startedAt")?,
            "ProofRejected" => {
                o.rejections = ev.u64("rejections")? as u32;
                o.deliver_by = ev.u64("deliverBy")?;
            }
            "SettlementProposed" => {
                o.settlement_proposer = ev.actor;
                o.settlement_bps = Some(ev.u64("sellerBps")? as u32);
            }
            "OrderCompleted" => {
                o.seller_paid = ev.u256("sellerAmount")?;
                o.fee_paid = ev.u256("feeAmount")?;
            }
            "OrderRefunded" => {
                o.buyer_paid = ev.u256("buyerAmount")?;
                o.refund_reason = Some(enum_name(&REFUND_REASONS, ev, "reason")?);
            }
            "OrderResolved" => {
                o.resolution = Some(enum_name(&RESOLUTIONS, ev, "resolution")?);
                o.buyer_paid = ev.u256("buyerAmount")?;
                o.seller_paid = ev.u256("sellerAmount")?;
                o.fee_paid = ev.u256("feeAmount")?;
                o.settlement_bps = Some(ev.u64("sellerBps")? as u32);
            }
            "PayoutDeferred" => o.deferred += ev.u256("amount")?,
            _ => {}
        }
        o.updated_block = ev.meta.block_number;
        o.updated_log_index = ev.meta.log_index;
        o.updated_at = ev.block_timestamp;
        Ok(Some(o))
    }
}
