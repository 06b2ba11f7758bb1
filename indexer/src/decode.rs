//! Which contracts are indexed, and their logs decoded (through the `sol!` bindings) into the rows
//! the store writes.

use crate::log_meta::LogMeta;
use crate::{
    IndexerError, IndexerResult,
    escrow::EscrowEvent,
    identity::{IdentityEvent, IdentityKind},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use pact_bindings::TestUSDT;
use std::collections::HashMap;

/// What a contract is, which decides how its logs are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContractKind {
    /// An ERC-20 settlement token (its `Transfer` events are kept).
    Token,
    /// A PactEscrow holding `token` (with `decimals`).
    Escrow {
        /// The escrowed token.
        token: Address,
        /// Its decimals.
        decimals: u8,
    },
    /// An identity registry (home chain) or Lite (satellite).
    Identity(IdentityKind),
}

/// The indexed contracts of one chain.
#[derive(Debug, Clone, Default)]
pub struct Contracts {
    kinds: HashMap<Address, ContractKind>,
    addresses: Vec<Address>,
}

impl Contracts {
    /// Adds a contract.
    pub fn insert(&mut self, address: Address, kind: ContractKind) {
        if self.kinds.insert(address, kind).is_none() {
            self.addresses.push(address);
        }
    }

    /// Every address, for the `eth_getLogs` filter.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// What `address` is.
    pub fn kind(&self, address: &Address) -> Option<ContractKind> {
        self.kinds.get(address).copied()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }
}

/// A `Transfer` of a settlement token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTransfer {
    /// Where it happened.
    pub meta: LogMeta,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount in base units.
    pub amount: U256,
}

/// Decoded rows of a block range, in chain order.
#[derive(Debug, Default)]
pub struct Batch {
    /// Token transfers.
    pub token_transfers: Vec<TokenTransfer>,
    /// Escrow events.
    pub escrow_events: Vec<EscrowEvent>,
    /// Identity events.
    pub identity_events: Vec<IdentityEvent>,
    /// Logs of indexed contracts that carry no event the indexer keeps (e.g. `Approval`).
    pub skipped: usize,
}

impl Batch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.token_transfers.len() + self.escrow_events.len() + self.identity_events.len()
    }

    /// True when the batch holds no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes `logs` (of one range, in chain order) into rows. `inputs` holds the calldata of
    /// the transactions that applied Lite batches (see [`lite_batch_txs`]).
    pub fn decode(
        contracts: &Contracts,
        logs: &[Log],
        inputs: &HashMap<B256, Bytes>,
    ) -> IndexerResult<Self> {
        let mut batch = Self::default();
        for log in logs {
            batch.push(contracts, log, inputs)?;
        }
        Ok(batch)
    }

    fn push(
        &mut self,
        contracts: &Contracts,
        log: &Log,
        inputs: &HashMap<B256, Bytes>,
    ) -> IndexerResult<()> {
        let Some(kind) = contracts.kinds.get(&log.address()) else {
            return Err(IndexerError::Inconsistent(format!(
                "log of unrequested contract {}",
                log.address()
            )));
        };
        let meta = LogMeta {
            block_number: log
                .block_number
                .ok_or_else(|| IndexerError::Inconsistent("log without block number".into()))?,
            log_index: log
                .log_index
                .ok_or_else(|| IndexerError::Inconsistent("log without log index".into()))?
                as u32,
            tx_hash: log.transaction_hash.unwrap_or_default(),
            address: log.address(),
        };
        match kind {
            ContractKind::Token => {
                if log.topic0() == Some(&TestUSDT::Transfer::SIGNATURE_HASH) {
                    let ev = TestUSDT::Transfer::decode_log_data(log.data()).map_err(|e| {
                        IndexerError::Inconsistent(format!("undecodable Transfer: {e}"))
                    })?;
                    self.token_transfers.push(TokenTransfer {
                        meta,
                        from: ev.from,
                        to: ev.to,
                        amount: ev.value,
                    });
                } else {
                    self.skipped += 1;
                }
            }
            ContractKind::Escrow { .. } => {
                let ts = log.block_timestamp.unwrap_or_default();
                match EscrowEvent::decode(meta, ts, log.data())? {
                    Some(ev) => {
                        require_timestamp(log, "escrow")?;
                        self.escrow_events.push(ev);
                    }
                    None => self.skipped += 1,
                }
            }
            ContractKind::Identity(kind) => {
                let ts = log.block_timestamp.unwrap_or_default();
                let input = inputs.get(&meta.tx_hash);
                match IdentityEvent::decode(meta, ts, *kind, log.data(), input)? {
                    Some(ev) => {
                        require_timestamp(log, "identity")?;
                        self.identity_events.push(ev);
                    }
                    None => self.skipped += 1,
                }
            }
        }
        Ok(())
    }
}

/// Kept events need their block's timestamp (logs of nodes that do not send it are refused).
fn require_timestamp(log: &Log, what: &str) -> IndexerResult<()> {
    match log.block_timestamp {
        Some(_) => Ok(()),
        None => Err(IndexerError::Inconsistent(format!(
            "{what} log in block {} without timestamp",
            log.block_number.unwrap_or_default()
        ))),
    }
}

/// Transactions whose calldata the decoder needs: those that emitted a Lite's `BatchApplied`.
pub fn lite_batch_txs(contracts: &Contracts, logs: &[Log]) -> Vec<B256> {
    let topic = pact_bindings::staking_lite::StakingLite::BatchApplied::SIGNATURE_HASH;
    let mut txs: Vec<B256> = logs
        .iter()
        .filter(|l| l.topic0() == Some(&topic))
        .filter(|l| matches!(contracts.kind(&l.address()), Some(ContractKind::Identity(k)) if k.is_lite()))
        .filter_map(|l| l.transaction_hash)
        .collect();
    txs.dedup();
    txs
}
