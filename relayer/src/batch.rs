//! The on-chain formats of a Lite batch: header, EIP-712 digest, packed updates and signatures.
//!
//! The header type and its EIP-712 encoding come from the Solidity source through `sol!`
//! (`pact_bindings`); this module only converts and packs. `tests/it/vectors.rs` checks every
//! byte against `contracts/test/vectors/lite_batch.json`.

use crate::RelayerResult;
use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use serde::{Deserialize, Serialize};

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

/// Which Lite a batch is for (and which home registry feeds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LiteKind {
    /// `IdentityLite`, fed by `IdentityRegistry`.
    Identity,
    /// `DIDLite`, fed by `DIDRegistry`.
    Did,
    /// `StakingLite`, fed by `StakeRegistry`.
    Staking,
}

impl LiteKind {
    /// All kinds.
    pub const ALL: [LiteKind; 3] = [LiteKind::Identity, LiteKind::Did, LiteKind::Staking];

    /// The EIP-712 domain name.
    pub const fn domain_name(self) -> &'static str {
        match self {
            LiteKind::Identity => "Pact IdentityLite",
            LiteKind::Did => "Pact DIDLite",
            LiteKind::Staking => "Pact StakingLite",
        }
    }

    /// The contract name (`IdentityLite`, ...).
    pub const fn contract_name(self) -> &'static str {
        match self {
            LiteKind::Identity => "IdentityLite",
            LiteKind::Did => "DIDLite",
            LiteKind::Staking => "StakingLite",
        }
    }

    /// Parses a contract name.
    pub fn from_contract_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.contract_name() == name)
    }
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

/// One packed update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// StakingLite `0x01`, 65 bytes.
    SetBond {
        /// Cursor of the home event.
        cursor: u64,
        /// Identity id.
        id: B256,
        /// Bonded amount (uint96).
        amount: u128,
        /// Unbonding amount (uint96).
        unbonding: u128,
    },
    /// IdentityLite `0x01`, 83 bytes.
    SetIdentity {
        /// Cursor of the home event.
        cursor: u64,
        /// Identity id.
        id: B256,
        /// Owner.
        owner: Address,
        /// Agent wallet.
        wallet: Address,
        /// 1 agent, 2 machine.
        entity_type: u8,
        /// 1 active, 2 suspended, 3 revoked.
        status: u8,
    },
    /// DIDLite `0x01`, 102 bytes.
    SetAttribute {
        /// Cursor of the home event.
        cursor: u64,
        /// DID (address).
        did: Address,
        /// Attribute name.
        name: B256,
        /// Stored value (inline, left-aligned, or keccak256 of the raw value).
        value: B256,
        /// Valid until (unix seconds).
        valid_to: u64,
        /// 0..32 inline length, 0xff hashed.
        value_info: u8,
    },
    /// DIDLite `0x02`, 61 bytes.
    RemoveAttribute {
        /// Cursor of the home event.
        cursor: u64,
        /// DID.
        did: Address,
        /// Attribute name.
        name: B256,
    },
    /// `0xff` signer rotation (any Lite).
    Rotate {
        /// New threshold.
        threshold: u8,
        /// New signer set.
        signers: Vec<Address>,
    },
}

/// The record an update writes (last-write-wins key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    /// A bond or identity id.
    Id(B256),
    /// A DID attribute.
    Attribute(Address, B256),
    /// The signer set.
    Signers,
}

fn push_u96(out: &mut Vec<u8>, v: u128) {
    out.extend_from_slice(&v.to_be_bytes()[4..]);
}

impl Update {
    /// The update's cursor (0 for a rotation).
    pub fn cursor(&self) -> u64 {
        match self {
            Update::SetBond { cursor, .. }
            | Update::SetIdentity { cursor, .. }
            | Update::SetAttribute { cursor, .. }
            | Update::RemoveAttribute { cursor, .. } => *cursor,
            Update::Rotate { .. } => 0,
        }
    }

    /// The record the update writes.
    pub fn key(&self) -> RecordKey {
        match self {
            Update::SetBond { id, .. } | Update::SetIdentity { id, .. } => RecordKey::Id(*id),
            Update::SetAttribute { did, name, .. } | Update::RemoveAttribute { did, name, .. } => {
                RecordKey::Attribute(*did, *name)
            }
            Update::Rotate { .. } => RecordKey::Signers,
        }
    }

    /// Appends the packed bytes.
    pub fn pack_into(&self, out: &mut Vec<u8>) {
        match self {
            Update::SetBond {
                cursor,
                id,
                amount,
                unbonding,
            } => {
                out.push(0x01);
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(id.as_slice());
                push_u96(out, *amount);
                push_u96(out, *unbonding);
            }
            Update::SetIdentity {
                cursor,
                id,
                owner,
                wallet,
                entity_type,
                status,
            } => {
                out.push(0x01);
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(id.as_slice());
                out.extend_from_slice(owner.as_slice());
                out.extend_from_slice(wallet.as_slice());
                out.push(*entity_type);
                out.push(*status);
            }
            Update::SetAttribute {
                cursor,
                did,
                name,
                value,
                valid_to,
                value_info,
            } => {
                out.push(0x01);
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(did.as_slice());
                out.extend_from_slice(name.as_slice());
                out.extend_from_slice(value.as_slice());
                out.extend_from_slice(&valid_to.to_be_bytes());
                out.push(*value_info);
            }
            Update::RemoveAttribute { cursor, did, name } => {
                out.push(0x02);
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(did.as_slice());
                out.extend_from_slice(name.as_slice());
            }
            Update::Rotate { threshold, signers } => {
                out.push(0xff);
                out.push(*threshold);
                out.push(signers.len() as u8);
                for s in signers {
                    out.extend_from_slice(s.as_slice());
                }
            }
        }
    }
}

/// Packs updates (in the given order).
pub fn pack(updates: &[Update]) -> Bytes {
    let mut out = Vec::with_capacity(updates.len() * 102);
    for u in updates {
        u.pack_into(&mut out);
    }
    out.into()
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
