//! The on-chain formats of a Lite batch: header, EIP-712 digest, packed updates and signatures.
//!
//! The header type and its EIP-712 encoding come from the Solidity source through `sol!`, the
//! packed updates from the one codec, `pact_bindings::lite_update` (re-exported here); this module
//! converts, hashes and signs. `tests/it/vectors.rs` checks every byte against
//! `contracts/test/vectors/lite_batch.json`.

use crate::RelayerResult;
use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use serde::{Deserialize, Serialize};

pub use pact_bindings::lite_update::{LiteKind, RecordKey, Update, pack};

/// `toCursor` low 32 bits meaning "the whole block".
pub const WHOLE_BLOCK: u64 = 0xffff_ffff;

/// `cursor = (block << 32) | logIndex`.
pub const fn cursor(block: u64, log_index: u64) -> u64 {
    (block << 32) | (log_index & 0xffff_ffff)
}

/// The home block of a cursor.
pub const fn cursor_block(cursor: u64) -> u64 {
    cursor >> 32
}

/// The EIP-712 domain of a Lite at `lite` on chain `chain_id`.
pub fn domain(kind: LiteKind, chain_id: u64, lite: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(kind.domain_name().into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(lite),
        None,
    )
}

/// A batch header (`ILiteBase.BatchHeader`), one Rust type for the three Lites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// Home chain id.
    pub source_chain_id: u64,
    /// Signer set id.
    pub signer_set_id: u64,
    /// Sequence, from 1.
    pub sequence: u64,
    /// Previous batch's `toCursor`.
    pub from_cursor: u64,
    /// Last cursor covered.
    pub to_cursor: u64,
    /// Timestamp of the home block at `toCursor`.
    pub home_timestamp: u64,
    /// Number of packed updates.
    pub count: u32,
    /// `keccak256(packedUpdates)`.
    pub updates_hash: B256,
}

macro_rules! convert_header {
    ($module:ident) => {
        impl From<BatchHeader> for pact_bindings::$module::ILiteBase::BatchHeader {
            fn from(h: BatchHeader) -> Self {
                Self {
                    sourceChainId: U256::from(h.source_chain_id),
                    signerSetId: h.signer_set_id,
                    sequence: h.sequence,
                    fromCursor: h.from_cursor,
                    toCursor: h.to_cursor,
                    homeTimestamp: h.home_timestamp,
                    count: h.count,
                    updatesHash: h.updates_hash,
                }
            }
        }
    };
}
convert_header!(staking_lite);
convert_header!(identity_lite);
convert_header!(did_lite);

/// The Solidity-generated header type used for EIP-712 hashing (identical in every Lite).
pub type SolBatchHeader = pact_bindings::staking_lite::ILiteBase::BatchHeader;

impl BatchHeader {
    /// The EIP-712 struct hash.
    pub fn struct_hash(&self) -> B256 {
        SolBatchHeader::from(*self).eip712_hash_struct()
    }

    /// The digest signers sign for the Lite `kind` at `lite` on chain `chain_id`.
    pub fn digest(&self, kind: LiteKind, chain_id: u64, lite: Address) -> B256 {
        SolBatchHeader::from(*self).eip712_signing_hash(&domain(kind, chain_id, lite))
    }
}

/// A complete batch: header and packed updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The header.
    pub header: BatchHeader,
    /// The packed updates.
    pub packed: Bytes,
}

impl Batch {
    /// Builds a batch: `count` and `updatesHash` from `updates`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source_chain_id: u64,
        signer_set_id: u64,
        sequence: u64,
        from_cursor: u64,
        to_cursor: u64,
        home_timestamp: u64,
        updates: &[Update],
    ) -> Self {
        let packed = pack(updates);
        Self {
            header: BatchHeader {
                source_chain_id,
                signer_set_id,
                sequence,
                from_cursor,
                to_cursor,
                home_timestamp,
                count: updates.len() as u32,
                updates_hash: keccak256(&packed),
            },
            packed,
        }
    }
}

/// secp256k1n / 2.
pub const HALF_ORDER: U256 = alloy::primitives::uint!(
    0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256
);

/// Signs `digest`: 65 bytes `r ‖ s ‖ v`, `v ∈ {27, 28}`, low `s`.
pub fn sign_digest(signer: &PrivateKeySigner, digest: B256) -> RelayerResult<[u8; 65]> {
    let sig = signer.sign_hash_sync(&digest)?;
    let sig = sig.normalize_s().unwrap_or(sig);
    let bytes = sig.as_bytes();
    debug_assert!(bytes[64] == 27 || bytes[64] == 28);
    Ok(bytes)
}

/// Why a signature does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    /// Not 65 bytes.
    #[error("length {0}, not 65")]
    Length(usize),
    /// `v` not 27/28.
    #[error("v = {0}")]
    V(u8),
    /// High `s`.
    #[error("high s")]
    HighS,
    /// Does not recover.
    #[error("does not recover")]
    Recover,
}

/// Recovers the signer of a 65-byte signature under the Lite's rules (v 27/28, low s).
pub fn recover(signature: &[u8], digest: B256) -> Result<Address, BadSignature> {
    if signature.len() != 65 {
        return Err(BadSignature::Length(signature.len()));
    }
    let v = signature[64];
    if v != 27 && v != 28 {
        return Err(BadSignature::V(v));
    }
    let sig =
        alloy::primitives::Signature::from_raw(signature).map_err(|_| BadSignature::Recover)?;
    if sig.s() > HALF_ORDER {
        return Err(BadSignature::HighS);
    }
    let addr = sig
        .recover_address_from_prehash(&digest)
        .map_err(|_| BadSignature::Recover)?;
    if addr == Address::ZERO {
        return Err(BadSignature::Recover);
    }
    Ok(addr)
}

/// Concatenates signatures ordered by strictly ascending signer (duplicates dropped).
pub fn concat_sorted(mut sigs: Vec<(Address, [u8; 65])>) -> Bytes {
    sigs.sort_by_key(|(a, _)| *a);
    sigs.dedup_by_key(|(a, _)| *a);
    sigs.iter()
        .flat_map(|(_, s)| s.iter().copied())
        .collect::<Vec<u8>>()
        .into()
}
