//! PactEscrow: its events (decoded into the `sol!`-generated `PactEscrowEvents`) as audit rows,
//! and the per-order projection folded from them.
//!
//! The fold works on the typed event; an event read back from `escrow_events` (to rebuild the
//! projection after a reorg) is turned into the same typed event by its stored form
//! ([`EscrowStored::from_args`]), so the projection is rebuilt exactly as it was built live.

use crate::{IndexerError, IndexerResult, log_meta::LogMeta, stored::stored_events};
use alloy::primitives::{Address, B256, LogData, U256};
use pact_bindings::{
    escrow::PactEscrow::{self, PactEscrowEvents},
    escrow_enums::{
        Action, DeadlineInputs, MAX_REJECTIONS, RefundReason, Resolution, State, next_deadline,
    },
    sol_enum::SolEnumNames,
};
use serde_json::{Map, Value};

stored_events!(EscrowStored for PactEscrowEvents in PactEscrow {
    ArbiterUpdated { previousArbiter, newArbiter },
    Claimed { account, to, amount },
    ConfigUpdated { configId, feeBps, reviewWindow, arbiterWindow, defaultSellerBps },
    DeliveryStarted { orderId, actor },
    DisputeOpened { orderId, actor, evidenceHash },
    EIP712DomainChanged {},
    FeesWithdrawn { treasury, actor, amount },
    OrderCompleted { orderId, actor, sellerAmount, feeAmount },
    OrderFunded { orderId, buyer, seller, amount, deliverBy, termsHash, configId },
    OrderRefunded { orderId, actor, buyerAmount, reason },
    OrderResolved { orderId, actor, resolution, sellerBps, buyerAmount, sellerAmount, feeAmount },
    OwnershipTransferStarted { previousOwner, newOwner },
    OwnershipTransferred { previousOwner, newOwner },
    PausedSet { actor, paused },
    PayoutDeferred { orderId, account, amount },
    ProofRejected { orderId, actor, reasonHash, rejections, deliverBy },
    ProofSubmitted { orderId, proofHash, proofURI },
    Rescued { token, to, amount },
    ReviewStarted { orderId, actor, startedAt },
    SettlementProposed { orderId, actor, sellerBps },
    TreasuryUpdated { previousTreasury, newTreasury },
});

/// One `escrow_events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct EscrowEvent {
    /// Where it happened.
    pub meta: LogMeta,
    /// Timestamp of its block.
    pub block_timestamp: u64,
    /// The decoded event.
    pub event: PactEscrowEvents,
}

/// The order state an event moves its order to, if it is a transition. The rejection that disputes
/// the order is not one: the `DisputeOpened` right after it is.
pub fn state_after(ev: &EscrowEvent) -> Option<State> {
    use PactEscrowEvents as E;
    Some(match &ev.event {
        E::OrderFunded(_) => State::ESCROWED,
        E::DeliveryStarted(_) => State::DELIVERING,
        E::ProofSubmitted(_) => State::PROOF_SUBMITTED,
        E::ReviewStarted(_) => State::REVIEWING,
        E::ProofRejected(e) if e.rejections >= MAX_REJECTIONS => return None,
        E::ProofRejected(_) => State::DELIVERING,
        E::DisputeOpened(_) => State::DISPUTED,
        E::OrderCompleted(_) => State::COMPLETED,
        E::OrderRefunded(_) => State::REFUNDED,
        E::OrderResolved(_) => State::RESOLVED,
        _ => return None,
    })
}

impl EscrowEvent {
    /// Decodes an escrow log: `None` for a log that is no PactEscrow event.
    pub fn decode(
        meta: LogMeta,
        block_timestamp: u64,
        log: &LogData,
    ) -> IndexerResult<Option<Self>> {
        Ok(
            crate::stored::decode_log::<PactEscrowEvents>(log)?.map(|event| Self {
                meta,
                block_timestamp,
                event,
            }),
        )
    }

    /// The event read back from its stored form.
    pub fn from_stored(
        meta: LogMeta,
        block_timestamp: u64,
        name: &str,
        args: &Map<String, Value>,
    ) -> IndexerResult<Self> {
        Ok(Self {
            meta,
            block_timestamp,
            event: PactEscrowEvents::from_args(name, args)?,
        })
    }

    /// The Solidity event name.
    pub fn name(&self) -> &'static str {
        self.event.name()
    }

    /// The stored arguments.
    pub fn args(&self) -> Value {
        Value::Object(self.event.to_args())
    }

    /// The order, for order events.
    pub fn order_id(&self) -> Option<B256> {
        use PactEscrowEvents as E;
        Some(match &self.event {
            E::OrderFunded(e) => e.orderId,
            E::DeliveryStarted(e) => e.orderId,
            E::ProofSubmitted(e) => e.orderId,
            E::ReviewStarted(e) => e.orderId,
            E::ProofRejected(e) => e.orderId,
            E::DisputeOpened(e) => e.orderId,
            E::SettlementProposed(e) => e.orderId,
            E::OrderCompleted(e) => e.orderId,
            E::OrderRefunded(e) => e.orderId,
            E::OrderResolved(e) => e.orderId,
            E::PayoutDeferred(e) => e.orderId,
            _ => return None,
        })
    }

    /// Who caused it (the buyer for `OrderFunded`), when the event says.
    pub fn actor(&self) -> Option<Address> {
        use PactEscrowEvents as E;
        Some(match &self.event {
            E::OrderFunded(e) => e.buyer,
            E::DeliveryStarted(e) => e.actor,
            E::ReviewStarted(e) => e.actor,
            E::ProofRejected(e) => e.actor,
            E::DisputeOpened(e) => e.actor,
            E::SettlementProposed(e) => e.actor,
            E::OrderCompleted(e) => e.actor,
            E::OrderRefunded(e) => e.actor,
            E::OrderResolved(e) => e.actor,
            E::FeesWithdrawn(e) => e.actor,
            E::PausedSet(e) => e.actor,
            _ => return None,
        })
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
    pub fn from_event(ev: &EscrowEvent) -> Option<(u16, Self)> {
        let PactEscrowEvents::ConfigUpdated(e) = &ev.event else {
            return None;
        };
        Some((
            e.configId,
            Self {
                fee_bps: e.feeBps.into(),
                review_window: e.reviewWindow.into(),
                arbiter_window: e.arbiterWindow.into(),
                default_seller_bps: e.defaultSellerBps.into(),
            },
        ))
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
    pub state: State,
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
    pub resolution: Option<Resolution>,
    pub refund_reason: Option<RefundReason>,
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

/// A stored `uint8` enum argument as its generated enum (`event` names it in the error).
fn member<E: SolEnumNames>(v: u8, event: &str) -> IndexerResult<E> {
    E::try_from(v).map_err(|_| {
        IndexerError::Inconsistent(format!(
            "{event}: unknown {} {v}",
            std::any::type_name::<E>()
        ))
    })
}

impl Order {
    /// The next automatic step and when it is due (`PactEscrow.nextDeadline` for the stored
    /// state, from its one Rust port in `pact_bindings`).
    pub fn next_action(&self) -> Option<(Action, u64)> {
        let (action, at) = next_deadline(DeadlineInputs {
            state: self.state,
            deliver_by: self.deliver_by,
            state_since: self.state_since,
            review_window: self.review_window,
            arbiter_window: self.arbiter_window,
        });
        (action != Action::NONE).then_some((action, at))
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
        use PactEscrowEvents as E;
        let Some(order_id) = ev.order_id() else {
            return Ok(order);
        };
        if let E::OrderFunded(f) = &ev.event {
            if order.is_some() {
                return Err(IndexerError::Inconsistent(format!(
                    "order {order_id} funded twice"
                )));
            }
            let config_id = f.configId;
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
                buyer: f.buyer,
                seller: f.seller,
                amount: f.amount,
                state: State::ESCROWED,
                state_since: ev.block_timestamp,
                deliver_by: f.deliverBy,
                terms_hash: f.termsHash,
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
                ev.name()
            )));
        };
        if let Some(state) = state_after(ev) {
            o.state = state;
            o.state_since = ev.block_timestamp;
        }
        match &ev.event {
            E::ProofSubmitted(e) => {
                o.proof_hash = Some(e.proofHash);
                // An empty URI (`submitProofHash`, or `submitProof` with "") means none was given.
                o.proof_uri = (!e.proofURI.is_empty()).then(|| e.proofURI.clone());
            }
            // An automatic start counts from when it became due, not from when it was fired.
            E::ReviewStarted(e) => o.state_since = e.startedAt,
            E::ProofRejected(e) => {
                o.rejections = e.rejections.into();
                o.deliver_by = e.deliverBy;
            }
            E::SettlementProposed(e) => {
                o.settlement_proposer = Some(e.actor);
                o.settlement_bps = Some(e.sellerBps.into());
            }
            E::OrderCompleted(e) => {
                o.seller_paid = e.sellerAmount;
                o.fee_paid = e.feeAmount;
            }
            E::OrderRefunded(e) => {
                o.buyer_paid = e.buyerAmount;
                o.refund_reason = Some(member(e.reason, ev.name())?);
            }
            E::OrderResolved(e) => {
                o.resolution = Some(member(e.resolution, ev.name())?);
                o.buyer_paid = e.buyerAmount;
                o.seller_paid = e.sellerAmount;
                o.fee_paid = e.feeAmount;
                o.settlement_bps = Some(e.sellerBps.into());
            }
            E::PayoutDeferred(e) => o.deferred += e.amount,
            _ => {}
        }
        o.updated_block = ev.meta.block_number;
        o.updated_log_index = ev.meta.log_index;
        o.updated_at = ev.block_timestamp;
        Ok(Some(o))
    }
}
