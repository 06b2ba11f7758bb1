//! Which contracts are indexed, and their logs decoded (through the `sol!` bindings) into the rows
//! the store writes.

use crate::{
    IndexerError, IndexerResult,
    abi::EventSet,
    escrow::EscrowEvent,
    identity::{IdentityEvent, IdentityKind},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use pact_bindings::TestUSDT;
use std::{collections::HashMap, sync::LazyLock};

/// The PactEscrow events, from the committed artifact the bindings use.
pub static ESCROW_EVENTS: LazyLock<EventSet> = LazyLock::new(|| {
    EventSet::from_artifact(include_str!(
        "../../contracts/bindings/artifacts/PactEscrow.json"
    ))
    .expect("the committed PactEscrow artifact has a valid ABI")
});

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

/// Position and origin of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogMeta {
    /// Block number.
    pub block_number: u64,
    /// Index of the log in its block.
    pub log_index: u32,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Emitting contract.
    pub address: Address,
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
            ContractKind::Escrow { .. } => match ESCROW_EVENTS.decode(log.data())? {
                Some(decoded) => {
                    let ts = log.block_timestamp.ok_or_else(|| {
                        IndexerError::Inconsistent(format!(
                            "escrow log in block {} without timestamp",
                            meta.block_number
                        ))
                    })?;
                    self.escrow_events
                        .push(EscrowEvent::new(meta, ts, decoded)?);
                }
                None => self.skipped += 1,
            },
            ContractKind::Identity(kind) => match kind.events().decode(log.data())? {
                Some(decoded) => {
                    let ts = log.block_timestamp.ok_or_else(|| {
                        IndexerError::Inconsistent(format!(
                            "identity log in block {} without timestamp",
                            meta.block_number
                        ))
                    })?;
                    let input = inputs.get(&meta.tx_hash);
                    self.identity_events
                        .push(IdentityEvent::new(meta, ts, *kind, decoded, input)?);
                }
                None => self.skipped += 1,
            },
        }
        Ok(())
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
