//! The packed updates of a Lite batch (`applyBatch`'s `packedUpdates`): the one Rust codec,
//! [`pack`] and [`unpack`], used by the relayer (which packs what its signers sign) and by the
//! indexer (which unpacks the calldata of every applied batch).
//!
//! The on-chain definition is Solidity's: the common frame and the signer rotation in
//! `src/identity/LiteBase.sol`, each Lite's kinds in its `_applyUpdate` with its `KIND_*` and
//! `*_SIZE` constants (layouts in `src/interfaces/identity/I*Lite.sol`). Here each layout is
//! written once, as the sequence of its fields ([`Update::pack_into`] writes them, [`unpack`]
//! reads them in the same order, the sizes are the sums of their widths). The unit tests check the
//! kinds and sizes against the Solidity constants; `contracts/test/vectors/lite_batch.json` (whose
//! bytes and field values `LiteVectorsTest` checks on the Lites themselves) pins every byte both
//! ways (`relayer/tests/it/vectors.rs`).
//!
//! The JSON form of an [`Update`] (serde) is the one the indexer stores in
//! `identity_events.args.updates`: `kind` in snake case, integers that can exceed 2^53 as decimal
//! strings, bytes and addresses as lowercase 0x-hex.

use alloy::primitives::{Address, B256, Bytes, aliases::U96};
use serde::{Deserialize, Serialize};

/// Which Lite a batch is for (each has its own update kinds; the rotation is shared).
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

    /// The encoded size of this Lite's update of kind byte `kind` (the Solidity `_updateSizes`
    /// table), `None` for a kind it does not apply. The rotation (variable size) is not in it.
    pub const fn update_size(self, kind: u8) -> Option<usize> {
        match (self, kind) {
            (LiteKind::Staking, kinds::SET_BOND) => Some(SET_BOND_SIZE),
            (LiteKind::Identity, kinds::SET_IDENTITY) => Some(SET_IDENTITY_SIZE),
            (LiteKind::Did, kinds::SET_ATTRIBUTE) => Some(SET_ATTRIBUTE_SIZE),
            (LiteKind::Did, kinds::REMOVE_ATTRIBUTE) => Some(REMOVE_ATTRIBUTE_SIZE),
            _ => None,
        }
    }
}

/// The kind bytes (`KIND_*` in the Solidity Lites).
pub mod kinds {
    /// `StakingLite.KIND_SET_BOND`.
    pub const SET_BOND: u8 = 0x01;
    /// `IdentityLite.KIND_SET_IDENTITY`.
    pub const SET_IDENTITY: u8 = 0x01;
    /// `DIDLite.KIND_SET_ATTRIBUTE`.
    pub const SET_ATTRIBUTE: u8 = 0x01;
    /// `DIDLite.KIND_REMOVE_ATTRIBUTE`.
    pub const REMOVE_ATTRIBUTE: u8 = 0x02;
    /// `LiteBase.KIND_ROTATE_SIGNERS`, shared by every Lite.
    pub const ROTATE_SIGNERS: u8 = 0xff;
}

// Field widths, from the Rust types of the fields.
const KIND: usize = size_of::<u8>();
const CURSOR: usize = size_of::<u64>();
const UINT8: usize = size_of::<u8>();
const UINT64: usize = size_of::<u64>();
const UINT96: usize = U96::BYTES;
const WORD: usize = size_of::<B256>();
const ADDRESS: usize = size_of::<Address>();

/// `StakingLite` `SET_BOND`: kind, cursor, id, amount, unbonding.
pub const SET_BOND_SIZE: usize = KIND + CURSOR + WORD + UINT96 + UINT96;
/// `IdentityLite` `SET_IDENTITY`: kind, cursor, id, owner, wallet, entityType, status.
pub const SET_IDENTITY_SIZE: usize = KIND + CURSOR + WORD + ADDRESS + ADDRESS + UINT8 + UINT8;
/// `DIDLite` `SET_ATTRIBUTE`: kind, cursor, did, name, value, validTo, valueInfo.
pub const SET_ATTRIBUTE_SIZE: usize = KIND + CURSOR + ADDRESS + WORD + WORD + UINT64 + UINT8;
/// `DIDLite` `REMOVE_ATTRIBUTE`: kind, cursor, did, name.
pub const REMOVE_ATTRIBUTE_SIZE: usize = KIND + CURSOR + ADDRESS + WORD;
/// The fixed part of a signer rotation: kind, newThreshold, n; then `n` signer addresses.
pub const ROTATE_SIGNERS_HEAD: usize = KIND + UINT8 + UINT8;
/// The size of one signer address in a rotation.
pub const ROTATE_SIGNER_SIZE: usize = ADDRESS;

/// One packed update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Update {
    /// `StakingLite` `SET_BOND`: the bond after the home event at `cursor`.
    SetBond {
        /// Cursor of the home event.
        #[serde(with = "decimal")]
        cursor: u64,
        /// Identity id.
        id: B256,
        /// Bonded amount.
        #[serde(with = "decimal")]
        amount: U96,
        /// Amount waiting for withdrawal.
        #[serde(with = "decimal")]
        unbonding: U96,
    },
    /// `IdentityLite` `SET_IDENTITY`: the identity after the home event at `cursor`.
    SetIdentity {
        /// Cursor of the home event.
        #[serde(with = "decimal")]
        cursor: u64,
        /// Identity id.
        id: B256,
        /// Owner.
        owner: Address,
        /// Agent wallet.
        wallet: Address,
        /// 1 agent, 2 machine.
        #[serde(rename = "entityType")]
        entity_type: u8,
        /// An `IIdentityRegistry.Status` discriminant (the Lite stores the byte as sent).
        status: u8,
    },
    /// `DIDLite` `SET_ATTRIBUTE`.
    SetAttribute {
        /// Cursor of the home event.
        #[serde(with = "decimal")]
        cursor: u64,
        /// DID (address).
        did: Address,
        /// Attribute name.
        name: B256,
        /// Stored value (inline, left-aligned, or keccak256 of the raw value).
        #[serde(rename = "stored")]
        value: B256,
        /// Valid until (unix seconds).
        #[serde(rename = "validTo", with = "decimal")]
        valid_to: u64,
        /// 0..32 inline length, 0xff hashed.
        #[serde(rename = "valueInfo")]
        value_info: u8,
    },
    /// `DIDLite` `REMOVE_ATTRIBUTE`.
    RemoveAttribute {
        /// Cursor of the home event.
        #[serde(with = "decimal")]
        cursor: u64,
        /// DID.
        did: Address,
        /// Attribute name.
        name: B256,
    },
    /// `LiteBase` signer rotation (any Lite; alone in its batch).
    Rotate {
        /// New threshold.
        threshold: u8,
        /// New signer set (at most 255).
        signers: Vec<Address>,
    },
}

/// The record an update writes (last-write-wins key of a batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKey {
    /// A bond or identity id.
    Id(B256),
    /// A DID attribute.
    Attribute(Address, B256),
    /// The signer set.
    Signers,
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

    /// The kind byte.
    pub const fn kind(&self) -> u8 {
        match self {
            Update::SetBond { .. } => kinds::SET_BOND,
            Update::SetIdentity { .. } => kinds::SET_IDENTITY,
            Update::SetAttribute { .. } => kinds::SET_ATTRIBUTE,
            Update::RemoveAttribute { .. } => kinds::REMOVE_ATTRIBUTE,
            Update::Rotate { .. } => kinds::ROTATE_SIGNERS,
        }
    }

    /// The Lite that applies it (`None`: the rotation, which every Lite applies).
    pub const fn lite(&self) -> Option<LiteKind> {
        match self {
            Update::SetBond { .. } => Some(LiteKind::Staking),
            Update::SetIdentity { .. } => Some(LiteKind::Identity),
            Update::SetAttribute { .. } | Update::RemoveAttribute { .. } => Some(LiteKind::Did),
            Update::Rotate { .. } => None,
        }
    }

    /// The encoded size in bytes.
    pub fn packed_len(&self) -> usize {
        match self {
            Update::SetBond { .. } => SET_BOND_SIZE,
            Update::SetIdentity { .. } => SET_IDENTITY_SIZE,
            Update::SetAttribute { .. } => SET_ATTRIBUTE_SIZE,
            Update::RemoveAttribute { .. } => REMOVE_ATTRIBUTE_SIZE,
            Update::Rotate { signers, .. } => {
                ROTATE_SIGNERS_HEAD + ROTATE_SIGNER_SIZE * signers.len()
            }
        }
    }

    /// Appends the packed bytes. A rotation's signer count is one byte: a set of more than 255
    /// signers cannot be encoded (the Lites would refuse it anyway) and panics.
    pub fn pack_into(&self, out: &mut Vec<u8>) {
        out.push(self.kind());
        match self {
            Update::SetBond {
                cursor,
                id,
                amount,
                unbonding,
            } => {
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(id.as_slice());
                out.extend_from_slice(&amount.to_be_bytes::<UINT96>());
                out.extend_from_slice(&unbonding.to_be_bytes::<UINT96>());
            }
            Update::SetIdentity {
                cursor,
                id,
                owner,
                wallet,
                entity_type,
                status,
            } => {
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
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(did.as_slice());
                out.extend_from_slice(name.as_slice());
                out.extend_from_slice(value.as_slice());
                out.extend_from_slice(&valid_to.to_be_bytes());
                out.push(*value_info);
            }
            Update::RemoveAttribute { cursor, did, name } => {
                out.extend_from_slice(&cursor.to_be_bytes());
                out.extend_from_slice(did.as_slice());
                out.extend_from_slice(name.as_slice());
            }
            Update::Rotate { threshold, signers } => {
                let n = u8::try_from(signers.len()).expect("a rotation has at most 255 signers");
                out.push(*threshold);
                out.push(n);
                for s in signers {
                    out.extend_from_slice(s.as_slice());
                }
            }
        }
    }
}

/// Packs updates, in the given order (the relayer sorts them by cursor).
pub fn pack(updates: &[Update]) -> Bytes {
    let mut out = Vec::with_capacity(updates.iter().map(Update::packed_len).sum());
    for u in updates {
        u.pack_into(&mut out);
    }
    out.into()
}

/// Why packed updates do not decode (each case is an `applyBatch` revert on chain).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpackError {
    /// A kind byte the Lite does not apply (`LiteUnknownUpdateKind`); a rotation anywhere but
    /// first is one too.
    #[error("update {index} at byte {offset}: kind {kind:#04x} is not an update of {lite:?}Lite")]
    UnknownKind {
        /// The Lite.
        lite: LiteKind,
        /// Index of the update.
        index: usize,
        /// Its byte offset.
        offset: usize,
        /// The kind byte.
        kind: u8,
    },
    /// The input ends inside an update (`LiteUpdateTruncated`).
    #[error("update {index} at byte {offset}: needs {size} bytes, {available} left")]
    Truncated {
        /// Index of the update.
        index: usize,
        /// Its byte offset.
        offset: usize,
        /// The bytes it needs (for a rotation: at least its fixed part).
        size: usize,
        /// The bytes left from its offset.
        available: usize,
    },
    /// Bytes follow a signer rotation, which is alone in its batch (`LiteRotationNotAlone`).
    #[error("signer rotation of {size} bytes followed by {extra} more bytes")]
    Overlong {
        /// The rotation's size.
        size: usize,
        /// The bytes after it.
        extra: usize,
    },
}

/// Result alias of [`unpack`].
pub type UnpackResult<T> = Result<T, UnpackError>;

/// Decodes the packed updates of a batch for `lite`, with the Lite's framing rules: a batch whose
/// first byte is the rotation kind holds exactly that rotation; otherwise it is a sequence of the
/// Lite's fixed-size updates. (Cursor order and the header's `count` are the batch's checks, not
/// the encoding's.)
pub fn unpack(lite: LiteKind, packed: &[u8]) -> UnpackResult<Vec<Update>> {
    if packed.first() == Some(&kinds::ROTATE_SIGNERS) {
        return unpack_rotation(packed).map(|r| vec![r]);
    }
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < packed.len() {
        let (index, kind) = (out.len(), packed[offset]);
        let size = lite.update_size(kind).ok_or(UnpackError::UnknownKind {
            lite,
            index,
            offset,
            kind,
        })?;
        let bytes = packed
            .get(offset..offset + size)
            .ok_or(UnpackError::Truncated {
                index,
                offset,
                size,
                available: packed.len() - offset,
            })?;
        out.push(unpack_fixed(lite, bytes));
        offset += size;
    }
    Ok(out)
}

fn unpack_rotation(packed: &[u8]) -> UnpackResult<Update> {
    let truncated = |size| UnpackError::Truncated {
        index: 0,
        offset: 0,
        size,
        available: packed.len(),
    };
    let mut r = Reader(
        packed
            .get(..ROTATE_SIGNERS_HEAD)
            .ok_or(truncated(ROTATE_SIGNERS_HEAD))?,
    );
    r.u8(); // the kind
    let threshold = r.u8();
    let n = r.u8() as usize;
    let size = ROTATE_SIGNERS_HEAD + ROTATE_SIGNER_SIZE * n;
    let mut r = Reader(&packed.get(..size).ok_or(truncated(size))?[ROTATE_SIGNERS_HEAD..]);
    if packed.len() > size {
        return Err(UnpackError::Overlong {
            size,
            extra: packed.len() - size,
        });
    }
    let signers = (0..n).map(|_| r.address()).collect();
    Ok(Update::Rotate { threshold, signers })
}

/// Decodes one fixed-size update; `bytes` is exactly `lite.update_size(bytes[0])` long.
fn unpack_fixed(lite: LiteKind, bytes: &[u8]) -> Update {
    let mut r = Reader(bytes);
    let kind = r.u8();
    let u = match (lite, kind) {
        (LiteKind::Staking, kinds::SET_BOND) => Update::SetBond {
            cursor: r.u64(),
            id: r.word(),
            amount: r.u96(),
            unbonding: r.u96(),
        },
        (LiteKind::Identity, kinds::SET_IDENTITY) => Update::SetIdentity {
            cursor: r.u64(),
            id: r.word(),
            owner: r.address(),
            wallet: r.address(),
            entity_type: r.u8(),
            status: r.u8(),
        },
        (LiteKind::Did, kinds::SET_ATTRIBUTE) => Update::SetAttribute {
            cursor: r.u64(),
            did: r.address(),
            name: r.word(),
            value: r.word(),
            valid_to: r.u64(),
            value_info: r.u8(),
        },
        (LiteKind::Did, kinds::REMOVE_ATTRIBUTE) => Update::RemoveAttribute {
            cursor: r.u64(),
            did: r.address(),
            name: r.word(),
        },
        _ => unreachable!("unpack only passes kinds with a size"),
    };
    debug_assert!(r.0.is_empty(), "a layout reads exactly its size");
    u
}

/// Reads big-endian fields off the front of a slice whose length was checked by the caller.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(UINT8)[0]
    }
    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take(UINT64).try_into().expect("8 bytes"))
    }
    fn u96(&mut self) -> U96 {
        U96::from_be_slice(self.take(UINT96))
    }
    fn word(&mut self) -> B256 {
        B256::from_slice(self.take(WORD))
    }
    fn address(&mut self) -> Address {
        Address::from_slice(self.take(ADDRESS))
    }
}

/// Integers as JSON decimal strings (cursors and amounts exceed 2^53).
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use std::{fmt::Display, str::FromStr};

    pub(super) fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(d: D) -> Result<T, D::Error>
    where
        T::Err: Display,
    {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::repo_file as source;
    use alloy::primitives::{address, b256};
    use serde_json::json;

    /// The kind bytes and sizes are the Solidity Lites' own constants.
    #[test]
    fn kinds_and_sizes_are_the_solidity_constants() {
        let decls = [
            (
                "contracts/src/identity/StakingLite.sol",
                format!(
                    "uint8 public constant KIND_SET_BOND = {:#04x};",
                    kinds::SET_BOND
                ),
                format!("uint256 private constant SET_BOND_SIZE = {SET_BOND_SIZE};"),
            ),
            (
                "contracts/src/identity/IdentityLite.sol",
                format!(
                    "uint8 public constant KIND_SET_IDENTITY = {:#04x};",
                    kinds::SET_IDENTITY
                ),
                format!("uint256 private constant SET_IDENTITY_SIZE = {SET_IDENTITY_SIZE};"),
            ),
            (
                "contracts/src/identity/DIDLite.sol",
                format!(
                    "uint8 public constant KIND_SET_ATTRIBUTE = {:#04x};",
                    kinds::SET_ATTRIBUTE
                ),
                format!("uint256 private constant SET_SIZE = {SET_ATTRIBUTE_SIZE};"),
            ),
            (
                "contracts/src/identity/DIDLite.sol",
                format!(
                    "uint8 public constant KIND_REMOVE_ATTRIBUTE = {:#04x};",
                    kinds::REMOVE_ATTRIBUTE
                ),
                format!("uint256 private constant REMOVE_SIZE = {REMOVE_ATTRIBUTE_SIZE};"),
            ),
        ];
        for (file, kind, size) in &decls {
            let src = source(file);
            assert!(src.contains(kind), "{file} declares `{kind}`");
            assert!(src.contains(size), "{file} declares `{size}`");
        }
        let base = source("contracts/src/identity/LiteBase.sol");
        let rotate = format!(
            "uint8 public constant KIND_ROTATE_SIGNERS = {:#04x};",
            kinds::ROTATE_SIGNERS
        );
        assert!(base.contains(&rotate), "LiteBase.sol declares `{rotate}`");
        // The rotation's layout as `_rotate` reads it: threshold at 1, n at 2, signers from 3.
        let expected =
            format!("uint256 expected = {ROTATE_SIGNERS_HEAD} + {ROTATE_SIGNER_SIZE} * n;");
        assert!(base.contains(&expected), "LiteBase.sol `{expected}`");
    }

    fn samples() -> Vec<(LiteKind, Update)> {
        let id = b256!("0x1111111111111111111111111111111111111111111111111111111111111111");
        let a = address!("0x00000000000000000000000000000000000000aa");
        let b = address!("0x00000000000000000000000000000000000000bb");
        vec![
            (
                LiteKind::Staking,
                Update::SetBond {
                    cursor: u64::MAX,
                    id,
                    amount: U96::MAX,
                    unbonding: U96::from(1),
                },
            ),
            (
                LiteKind::Identity,
                Update::SetIdentity {
                    cursor: 7 << 32,
                    id,
                    owner: a,
                    wallet: b,
                    entity_type: 2,
                    status: 3,
                },
            ),
            (
                LiteKind::Did,
                Update::SetAttribute {
                    cursor: 1,
                    did: a,
                    name: id,
                    value: B256::repeat_byte(0xee),
                    valid_to: u64::MAX,
                    value_info: 0xff,
                },
            ),
            (
                LiteKind::Did,
                Update::RemoveAttribute {
                    cursor: 2,
                    did: b,
                    name: id,
                },
            ),
            (
                LiteKind::Did,
                Update::Rotate {
                    threshold: 2,
                    signers: vec![a, b, Address::repeat_byte(0xcc)],
                },
            ),
        ]
    }

    #[test]
    fn every_update_round_trips_at_its_declared_size() {
        for (lite, u) in samples() {
            let packed = pack(std::slice::from_ref(&u));
            assert_eq!(packed.len(), u.packed_len(), "{u:?}");
            assert_eq!(packed[0], u.kind());
            assert_eq!(unpack(lite, &packed).unwrap(), vec![u.clone()]);
            let json = serde_json::to_value(&u).unwrap();
            assert_eq!(serde_json::from_value::<Update>(json).unwrap(), u);
        }
        // Several fixed-size updates in a row.
        let dids: Vec<Update> = samples()
            .into_iter()
            .filter(|(_, u)| u.lite() == Some(LiteKind::Did))
            .map(|(_, u)| u)
            .collect();
        assert_eq!(dids.len(), 2);
        assert_eq!(unpack(LiteKind::Did, &pack(&dids)).unwrap(), dids);
        assert_eq!(unpack(LiteKind::Staking, &[]).unwrap(), vec![]);
    }

    #[test]
    fn truncated_input_is_refused_at_the_update_it_cuts() {
        for (lite, u) in samples() {
            let packed = pack(std::slice::from_ref(&u));
            for cut in 1..packed.len() {
                let err = unpack(lite, &packed[..cut]).unwrap_err();
                assert!(
                    matches!(err, UnpackError::Truncated { index: 0, offset: 0, available, .. } if available == cut),
                    "{u:?} cut at {cut}: {err:?}"
                );
            }
        }
        // The second of two bonds cut short.
        let bond = samples().remove(0).1;
        let two = pack(&[bond.clone(), bond]);
        assert_eq!(
            unpack(LiteKind::Staking, &two[..two.len() - 1]).unwrap_err(),
            UnpackError::Truncated {
                index: 1,
                offset: SET_BOND_SIZE,
                size: SET_BOND_SIZE,
                available: SET_BOND_SIZE - 1
            }
        );
    }

    #[test]
    fn bytes_after_a_rotation_are_refused() {
        let rotation = samples().pop().unwrap().1;
        let mut packed = pack(&[rotation]).to_vec();
        let size = packed.len();
        packed.push(0);
        assert_eq!(
            unpack(LiteKind::Identity, &packed).unwrap_err(),
            UnpackError::Overlong { size, extra: 1 }
        );
    }

    #[test]
    fn kinds_a_lite_does_not_apply_are_refused() {
        let all = samples();
        // REMOVE_ATTRIBUTE (0x02) is DIDLite's only; 0x01 is every Lite's own first kind.
        let remove = pack(std::slice::from_ref(&all[3].1));
        for other in [LiteKind::Staking, LiteKind::Identity] {
            assert_eq!(
                unpack(other, &remove).unwrap_err(),
                UnpackError::UnknownKind {
                    lite: other,
                    index: 0,
                    offset: 0,
                    kind: kinds::REMOVE_ATTRIBUTE
                }
            );
        }
        // A rotation after an update is not a rotation: the frame allows it only first.
        let packed = pack(&[all[0].1.clone(), all[4].1.clone()]);
        assert_eq!(
            unpack(LiteKind::Staking, &packed).unwrap_err(),
            UnpackError::UnknownKind {
                lite: LiteKind::Staking,
                index: 1,
                offset: SET_BOND_SIZE,
                kind: kinds::ROTATE_SIGNERS
            }
        );
        for lite in LiteKind::ALL {
            assert_eq!(
                unpack(lite, &[0x07]).unwrap_err(),
                UnpackError::UnknownKind {
                    lite,
                    index: 0,
                    offset: 0,
                    kind: 0x07
                }
            );
        }
    }

    /// The JSON form is the one `identity_events.args.updates` has always stored.
    #[test]
    fn the_json_form_is_the_stored_form() {
        let all: Vec<Update> = samples().into_iter().map(|(_, u)| u).collect();
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            json!([
                {"kind": "set_bond", "cursor": "18446744073709551615",
                 "id": "0x1111111111111111111111111111111111111111111111111111111111111111",
                 "amount": "79228162514264337593543950335", "unbonding": "1"},
                {"kind": "set_identity", "cursor": "30064771072",
                 "id": "0x1111111111111111111111111111111111111111111111111111111111111111",
                 "owner": "0x00000000000000000000000000000000000000aa",
                 "wallet": "0x00000000000000000000000000000000000000bb", "entityType": 2, "status": 3},
                {"kind": "set_attribute", "cursor": "1", "did": "0x00000000000000000000000000000000000000aa",
                 "name": "0x1111111111111111111111111111111111111111111111111111111111111111",
                 "stored": "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                 "validTo": "18446744073709551615", "valueInfo": 255},
                {"kind": "remove_attribute", "cursor": "2", "did": "0x00000000000000000000000000000000000000bb",
                 "name": "0x1111111111111111111111111111111111111111111111111111111111111111"},
                {"kind": "rotate", "threshold": 2, "signers": [
                    "0x00000000000000000000000000000000000000aa",
                    "0x00000000000000000000000000000000000000bb",
                    "0xcccccccccccccccccccccccccccccccccccccccc"]},
            ])
        );
        // An amount above uint96 is not an Update.
        let over = json!({"kind": "set_bond", "cursor": "1", "id": B256::ZERO,
                          "amount": "79228162514264337593543950336", "unbonding": "0"});
        assert!(serde_json::from_value::<Update>(over).is_err());
    }
}
