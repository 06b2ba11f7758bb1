//! Where a log sits in its chain: the key every event row starts with.

use alloy::primitives::{Address, B256};

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
