//! Identity contracts: the home registries' events and projections, and the satellite Lites'
//! batches with the mirrored records decoded from each batch's packed updates.
//!
//! Projections are maintained by applying each event in chain order ([`apply`]); after a reorg the
//! chain's identity projections are rebuilt by replaying the remaining events through the same
//! function, so live and rebuilt state cannot differ.

use crate::{
    IndexerError, IndexerResult,
    copy::CopyBuf,
    log_meta::LogMeta,
    stored::{arg, decode_log, parse, stored_events},
};
use alloy::{
    primitives::{Address, B256, Bytes, LogData, U256, keccak256},
    sol_types::{SolCall, SolEventInterface},
};
use pact_bindings::{
    did_registry::{self, DIDRegistry::DIDRegistryEvents},
    identity_registry::{self, IdentityRegistry::IdentityRegistryEvents},
    identity_status::Status,
    sol_enum::SolEnumNames,
    stake_registry::{self, StakeRegistry::StakeRegistryEvents},
    staking_lite::{self, StakingLite::StakingLiteEvents},
};
use pact_db::bytea;
use serde_json::{Map, Value, json};
use sqlx::{Postgres, Row, Transaction};

/// Which identity contract a log comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// Home: agents and machines.
    IdentityRegistry,
    /// Home: DID attributes.
    DidRegistry,
    /// Home: stake bonds.
    StakeRegistry,
    /// Satellite: identity mirror.
    IdentityLite,
    /// Satellite: DID attribute mirror.
    DidLite,
    /// Satellite: stake bond mirror.
    StakingLite,
}

stored_events!(IdentityRegistryStored for IdentityRegistryEvents in identity_registry::IdentityRegistry {
    EIP712DomainChanged {},
    IdentityMetadataUpdated { id, metadataHash },
    IdentityRegistered { id, owner, wallet, entityType, metadataHash },
    IdentityReinstated { id },
    IdentityRevoked { id },
    IdentitySuspended { id },
    IdentityWalletChanged { id, previousWallet, newWallet },
    OwnershipTransferStarted { previousOwner, newOwner },
    OwnershipTransferred { previousOwner, newOwner },
});
stored_events!(DidRegistryStored for DIDRegistryEvents in did_registry::DIDRegistry {
    DIDAttributeRemoved { did, name },
    DIDAttributeSet { did, name, stored, valueInfo, validTo, value },
});
stored_events!(StakeRegistryStored for StakeRegistryEvents in stake_registry::StakeRegistry {
    Bonded { id, staker, received, amount, unbonding },
    OwnershipTransferStarted { previousOwner, newOwner },
    OwnershipTransferred { previousOwner, newOwner },
    Slashed { id, recipient, slashed, amount, unbonding },
    UnbondRequested { id, requested, amount, unbonding, unlockAt },
    Withdrawn { id, to, withdrawn, amount, unbonding },
});
// The three Lites share `LiteBase`'s events (same signatures): one generated enum decodes them all.
stored_events!(LiteStored for StakingLiteEvents in staking_lite::StakingLite {
    BatchApplied { sequence, signerSetId, fromCursor, toCursor, homeTimestamp, count, updatesHash },
    EIP712DomainChanged {},
    EquivocationReported { signer, sequence, digestA, digestB, reporter },
    SignerSetRotated { signerSetId, signers, threshold },
});

/// A log of an identity contract in its stored form (`None`: not one of the contract's events).
fn decode_stored(
    kind: IdentityKind,
    log: &LogData,
) -> IndexerResult<Option<(&'static str, Map<String, Value>)>> {
    fn stored<E: SolEventInterface>(
        log: &LogData,
        f: impl Fn(&E) -> (&'static str, Map<String, Value>),
    ) -> IndexerResult<Option<(&'static str, Map<String, Value>)>> {
        Ok(decode_log::<E>(log)?.as_ref().map(f))
    }
    match kind {
        IdentityKind::IdentityRegistry => {
            stored::<IdentityRegistryEvents>(log, |e| (e.name(), e.to_args()))
        }
        IdentityKind::DidRegistry => stored::<DIDRegistryEvents>(log, |e| (e.name(), e.to_args())),
        IdentityKind::StakeRegistry => {
            stored::<StakeRegistryEvents>(log, |e| (e.name(), e.to_args()))
        }
        IdentityKind::IdentityLite | IdentityKind::DidLite | IdentityKind::StakingLite => {
            stored::<StakingLiteEvents>(log, |e| (e.name(), e.to_args()))
        }
    }
}

impl IdentityKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdentityRegistry => "identity_registry",
            Self::DidRegistry => "did_registry",
            Self::StakeRegistry => "stake_registry",
            Self::IdentityLite => "identity_lite",
            Self::DidLite => "did_lite",
            Self::StakingLite => "staking_lite",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Self::IdentityRegistry,
            Self::DidRegistry,
            Self::StakeRegistry,
            Self::IdentityLite,
            Self::DidLite,
            Self::StakingLite,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// True for the satellite mirrors.
    pub fn is_lite(self) -> bool {
        matches!(self, Self::IdentityLite | Self::DidLite | Self::StakingLite)
    }
}

/// One `identity_events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityEvent {
    /// Where it happened.
    pub meta: LogMeta,
    /// Block timestamp.
    pub block_timestamp: u64,
    /// The emitting contract's kind.
    pub kind: IdentityKind,
    /// Event name.
    pub event: String,
    /// Decoded arguments (plus `updates` for `BatchApplied`).
    pub args: Map<String, Value>,
}

impl IdentityEvent {
    /// Decodes the log of an identity contract into its row (`None`: not one of the contract's
    /// events); for `BatchApplied`, `input` is the transaction's calldata, from which the packed
    /// updates are decoded and checked against the event's `updatesHash`.
    pub fn decode(
        meta: LogMeta,
        block_timestamp: u64,
        kind: IdentityKind,
        log: &LogData,
        input: Option<&Bytes>,
    ) -> IndexerResult<Option<Self>> {
        let Some((name, mut args)) = decode_stored(kind, log)? else {
            return Ok(None);
        };
        if name == "BatchApplied" {
            let updates = match input {
                Some(input) => {
                    let call =
                        pact_bindings::staking_lite::StakingLite::applyBatchCall::abi_decode(input)
                            .map_err(|e| {
                                IndexerError::Inconsistent(format!(
                                    "BatchApplied tx {} is not applyBatch: {e}",
                                    meta.tx_hash
                                ))
                            })?;
                    let declared: B256 = parse(&args, name, "updatesHash")?;
                    if keccak256(&call.packedUpdates) != declared {
                        return Err(IndexerError::Inconsistent(format!(
                            "BatchApplied in tx {}: calldata updates do not hash to updatesHash",
                            meta.tx_hash
                        )));
                    }
                    Value::Array(decode_updates(kind, &call.packedUpdates)?)
                }
                None => Value::Null,
            };
            args.insert("updates".into(), updates);
        }
        Ok(Some(Self {
            meta,
            block_timestamp,
            kind,
            event: name.to_string(),
            args,
        }))
    }
}

/// The stored form of a status (`identities.status`): its Solidity name.
fn status(s: Status) -> Vec<u8> {
    s.name().as_bytes().to_vec()
}

fn hex_arg(args: &Map<String, Value>, event: &str, key: &str) -> IndexerResult<Vec<u8>> {
    alloy::hex::decode(arg(args, event, key)?)
        .map_err(|_| IndexerError::Inconsistent(format!("{event}: argument {key} is not hex")))
}

fn be(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |acc, b| (acc << 8) | *b as u128)
}

/// Decodes a batch's packed updates (layouts in `contracts/src/identity/README.md`).
pub fn decode_updates(kind: IdentityKind, packed: &[u8]) -> IndexerResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let truncated =
        |at: usize| IndexerError::Inconsistent(format!("packed updates truncated at byte {at}"));
    while at < packed.len() {
        let rest = &packed[at..];
        let tag = rest[0];
        let size = match (kind, tag) {
            (_, 0xff) => {
                let n = *rest.get(2).ok_or_else(|| truncated(at))? as usize;
                3 + 20 * n
            }
            (IdentityKind::StakingLite, 0x01) => 65,
            (IdentityKind::IdentityLite, 0x01) => 83,
            (IdentityKind::DidLite, 0x01) => 102,
            (IdentityKind::DidLite, 0x02) => 61,
            _ => {
                return Err(IndexerError::Inconsistent(format!(
                    "unknown update kind {tag:#x} for {}",
                    kind.name()
                )));
            }
        };
        let u = rest.get(..size).ok_or_else(|| truncated(at))?;
        let hex = alloy::hex::encode_prefixed;
        out.push(match (kind, tag) {
            (_, 0xff) => json!({
                "kind": "rotate",
                "threshold": u[1],
                "signers": u[3..].chunks(20).map(|s| format!("{:#x}", Address::from_slice(s))).collect::<Vec<_>>(),
            }),
            (IdentityKind::StakingLite, _) => json!({
                "kind": "set_bond", "cursor": be(&u[1..9]).to_string(), "id": hex(&u[9..41]),
                "amount": be(&u[41..53]).to_string(), "unbonding": be(&u[53..65]).to_string(),
            }),
            (IdentityKind::IdentityLite, _) => json!({
                "kind": "set_identity", "cursor": be(&u[1..9]).to_string(), "id": hex(&u[9..41]),
                "owner": format!("{:#x}", Address::from_slice(&u[41..61])),
                "wallet": format!("{:#x}", Address::from_slice(&u[61..81])),
                "entityType": u[81], "status": u[82],
            }),
            (IdentityKind::DidLite, 0x01) => json!({
                "kind": "set_attribute", "cursor": be(&u[1..9]).to_string(),
                "did": format!("{:#x}", Address::from_slice(&u[9..29])), "name": hex(&u[29..61]),
                "stored": hex(&u[61..93]), "validTo": be(&u[93..101]).to_string(), "valueInfo": u[101],
            }),
            _ => json!({
                "kind": "remove_attribute", "cursor": be(&u[1..9]).to_string(),
                "did": format!("{:#x}", Address::from_slice(&u[9..29])), "name": hex(&u[29..61]),
            }),
        });
        at += size;
    }
    Ok(out)
}

/// Appends `events` and applies them to the projections, in chain order.
pub async fn write(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    events: &[IdentityEvent],
) -> IndexerResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut buf = CopyBuf::new();
    for e in events {
        buf.row(9)
            .log_key(chain_id, &e.meta)
            .i64(e.block_timestamp as i64)
            .bytea(e.meta.address.as_slice())
            .text(e.kind.name())
            .text(&e.event)
            .jsonb(&Value::Object(e.args.clone()).to_string());
    }
    let mut copy = tx
        .copy_in_raw(
            "COPY identity_events (chain_id, block_number, log_index, tx_hash, block_timestamp, contract, kind, event, \
             args) FROM STDIN (FORMAT binary)",
        )
        .await?;
    copy.send(buf.finish()).await?;
    copy.finish().await?;
    for e in events {
        apply(tx, chain_id, e).await?;
    }
    Ok(())
}

const PROJECTIONS: [&str; 8] = [
    "identities",
    "did_attributes",
    "stake_bonds",
    "lites",
    "lite_batches",
    "lite_identities",
    "lite_attributes",
    "lite_bonds",
];

/// After a reorg removed the chain's rows above `above`: rebuilds every identity projection of the
/// chain from the remaining events (skipped when no identity event was removed).
pub async fn rewind(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    above: i64,
) -> IndexerResult<()> {
    let removed =
        sqlx::query("DELETE FROM identity_events WHERE chain_id = $1 AND block_number > $2")
            .bind(chain_id as i64)
            .bind(above)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Ok(());
    }
    for table in PROJECTIONS {
        sqlx::query(&format!("DELETE FROM {table} WHERE chain_id = $1"))
            .bind(chain_id as i64)
            .execute(&mut **tx)
            .await?;
    }
    let rows = sqlx::query(
        "SELECT block_number, log_index, tx_hash, block_timestamp, contract, kind, event, args::text
         FROM identity_events WHERE chain_id = $1 ORDER BY block_number, log_index",
    )
    .bind(chain_id as i64)
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let kind = IdentityKind::parse(r.get(5))
            .ok_or_else(|| IndexerError::Inconsistent("stored identity kind unknown".into()))?;
        let ev = IdentityEvent {
            meta: LogMeta {
                block_number: r.get::<i64, _>(0) as u64,
                log_index: r.get::<i32, _>(1) as u32,
                tx_hash: bytea::b256(r.get(2))?,
                address: bytea::address(r.get(4))?,
            },
            block_timestamp: r.get::<i64, _>(3) as u64,
            kind,
            event: r.get(6),
            args: serde_json::from_str(r.get::<&str, _>(7))
                .map_err(|e| IndexerError::Inconsistent(format!("stored args: {e}")))?,
        };
        apply(tx, chain_id, &ev).await?;
    }
    Ok(())
}

/// Applies one event to the projections.
async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    e: &IdentityEvent,
) -> IndexerResult<()> {
    let (c, a, ev) = (chain_id as i64, e.meta.address.as_slice(), e.event.as_str());
    let (block, ts) = (e.meta.block_number as i64, e.block_timestamp as i64);
    let args = &e.args;
    let id = || hex_arg(args, ev, "id");
    match (e.kind, ev) {
        (IdentityKind::IdentityRegistry, "IdentityRegistered") => {
            sqlx::query(
                "INSERT INTO identities (chain_id, registry, id, owner, wallet, entity_type, status, metadata_hash, \
                 updated_block, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$10,$7,$8,$9)",
            )
            .bind(c)
            .bind(a)
            .bind(id()?)
            .bind(hex_arg(args, ev, "owner")?)
            .bind(hex_arg(args, ev, "wallet")?)
            .bind(parse::<i16>(args, ev, "entityType")?)
            .bind(hex_arg(args, ev, "metadataHash")?)
            .bind(block)
            .bind(ts)
            .bind(Status::ACTIVE.name())
            .execute(&mut **tx)
            .await?;
        }
        (
            IdentityKind::IdentityRegistry,
            name @ ("IdentityWalletChanged"
            | "IdentityMetadataUpdated"
            | "IdentitySuspended"
            | "IdentityReinstated"
            | "IdentityRevoked"),
        ) => {
            let (column, value): (&str, Vec<u8>) = match name {
                "IdentityWalletChanged" => ("wallet", hex_arg(args, ev, "newWallet")?),
                "IdentityMetadataUpdated" => ("metadata_hash", hex_arg(args, ev, "metadataHash")?),
                "IdentitySuspended" => ("status", status(Status::SUSPENDED)),
                "IdentityReinstated" => ("status", status(Status::ACTIVE)),
                _ => ("status", status(Status::REVOKED)),
            };
            let set = if column == "status" {
                "status = convert_from($4, 'UTF8')".to_string()
            } else {
                format!("{column} = $4")
            };
            sqlx::query(&format!(
                "UPDATE identities SET {set}, updated_block = $5, updated_at = $6 WHERE chain_id = $1 AND registry = $2 AND id = $3"
            ))
            .bind(c)
            .bind(a)
            .bind(id()?)
            .bind(value)
            .bind(block)
            .bind(ts)
            .execute(&mut **tx)
            .await?;
        }
        (IdentityKind::DidRegistry, "DIDAttributeSet") => {
            sqlx::query(
                "INSERT INTO did_attributes (chain_id, registry, did, name, stored, value_info, value, valid_to, removed, \
                 updated_block, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,false,$9,$10)
                 ON CONFLICT (chain_id, registry, did, name) DO UPDATE SET stored = EXCLUDED.stored,
                 value_info = EXCLUDED.value_info, value = EXCLUDED.value, valid_to = EXCLUDED.valid_to, removed = false,
                 updated_block = EXCLUDED.updated_block, updated_at = EXCLUDED.updated_at",
            )
            .bind(c)
            .bind(a)
            .bind(hex_arg(args, ev, "did")?)
            .bind(hex_arg(args, ev, "name")?)
            .bind(hex_arg(args, ev, "stored")?)
            .bind(parse::<i16>(args, ev, "valueInfo")?)
            .bind(hex_arg(args, ev, "value")?)
            .bind(parse::<i64>(args, ev, "validTo")?)
            .bind(block)
            .bind(ts)
            .execute(&mut **tx)
            .await?;
        }
        (IdentityKind::DidRegistry, "DIDAttributeRemoved") => {
            sqlx::query(
                "UPDATE did_attributes SET removed = true, updated_block = $5, updated_at = $6
                 WHERE chain_id = $1 AND registry = $2 AND did = $3 AND name = $4",
            )
            .bind(c)
            .bind(a)
            .bind(hex_arg(args, ev, "did")?)
            .bind(hex_arg(args, ev, "name")?)
            .bind(block)
            .bind(ts)
            .execute(&mut **tx)
            .await?;
        }
        (IdentityKind::StakeRegistry, "Bonded" | "UnbondRequested" | "Withdrawn" | "Slashed") => {
            let unlock = if ev == "UnbondRequested" {
                Some(parse::<i64>(args, ev, "unlockAt")?)
            } else {
                None
            };
            sqlx::query(
                "INSERT INTO stake_bonds (chain_id, registry, id, amount, unbonding, unlock_at, updated_block, updated_at)
                 VALUES ($1,$2,$3,$4::numeric,$5::numeric,$6,$7,$8)
                 ON CONFLICT (chain_id, registry, id) DO UPDATE SET amount = EXCLUDED.amount,
                 unbonding = EXCLUDED.unbonding,
                 unlock_at = CASE WHEN EXCLUDED.unbonding = 0 THEN NULL ELSE coalesce(EXCLUDED.unlock_at, stake_bonds.unlock_at) END,
                 updated_block = EXCLUDED.updated_block, updated_at = EXCLUDED.updated_at",
            )
            .bind(c)
            .bind(a)
            .bind(id()?)
            .bind(arg(args, ev, "amount")?)
            .bind(arg(args, ev, "unbonding")?)
            .bind(unlock)
            .bind(block)
            .bind(ts)
            .execute(&mut **tx)
            .await?;
        }
        (k, "SignerSetRotated") if k.is_lite() => {
            let signers: Vec<Vec<u8>> = args
                .get("signers")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    IndexerError::Inconsistent("SignerSetRotated: signers missing".into())
                })?
                .iter()
                .map(|s| alloy::hex::decode(s.as_str().unwrap_or_default()).unwrap_or_default())
                .collect();
            sqlx::query(
                "INSERT INTO lites (chain_id, lite, kind, signer_set_id, signers, threshold) VALUES ($1,$2,$3,$4,$5,$6)
                 ON CONFLICT (chain_id, lite) DO UPDATE SET signer_set_id = EXCLUDED.signer_set_id,
                 signers = EXCLUDED.signers, threshold = EXCLUDED.threshold",
            )
            .bind(c)
            .bind(a)
            .bind(k.name())
            .bind(parse::<i64>(args, ev, "signerSetId")?)
            .bind(signers)
            .bind(parse::<i16>(args, ev, "threshold")?)
            .execute(&mut **tx)
            .await?;
        }
        (k, "EquivocationReported") if k.is_lite() => {
            sqlx::query("UPDATE lites SET paused = true WHERE chain_id = $1 AND lite = $2")
                .bind(c)
                .bind(a)
                .execute(&mut **tx)
                .await?;
        }
        (k, "BatchApplied") if k.is_lite() => apply_batch(tx, c, a, k, e).await?,
        _ => {} // ownership and domain events: kept in identity_events only
    }
    Ok(())
}

async fn apply_batch(
    tx: &mut Transaction<'_, Postgres>,
    c: i64,
    lite: &[u8],
    kind: IdentityKind,
    e: &IdentityEvent,
) -> IndexerResult<()> {
    let (args, ev) = (&e.args, e.event.as_str());
    let sequence: i64 = parse(args, ev, "sequence")?;
    let to_cursor: U256 = parse(args, ev, "toCursor")?;
    sqlx::query(
        "INSERT INTO lite_batches (chain_id, lite, sequence, signer_set_id, from_cursor, to_cursor, home_timestamp, count, \
         updates_hash, block_number, tx_hash) VALUES ($1,$2,$3,$4,$5::numeric,$6::numeric,$7,$8,$9,$10,$11)",
    )
    .bind(c)
    .bind(lite)
    .bind(sequence)
    .bind(parse::<i64>(args, ev, "signerSetId")?)
    .bind(arg(args, ev, "fromCursor")?)
    .bind(to_cursor.to_string())
    .bind(parse::<i64>(args, ev, "homeTimestamp")?)
    .bind(parse::<i32>(args, ev, "count")?)
    .bind(hex_arg(args, ev, "updatesHash")?)
    .bind(e.meta.block_number as i64)
    .bind(e.meta.tx_hash.as_slice())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO lites (chain_id, lite, kind, last_sequence, last_cursor, last_home_timestamp)
         VALUES ($1,$2,$3,$4,$5::numeric,$6) ON CONFLICT (chain_id, lite) DO UPDATE SET
         last_sequence = EXCLUDED.last_sequence, last_cursor = EXCLUDED.last_cursor,
         last_home_timestamp = EXCLUDED.last_home_timestamp",
    )
    .bind(c)
    .bind(lite)
    .bind(kind.name())
    .bind(sequence)
    .bind(to_cursor.to_string())
    .bind(parse::<i64>(args, ev, "homeTimestamp")?)
    .execute(&mut **tx)
    .await?;
    let Some(updates) = args.get("updates").and_then(Value::as_array) else {
        tracing::warn!(tx = %e.meta.tx_hash, "BatchApplied without decodable calldata: mirrored records not updated");
        return Ok(());
    };
    for u in updates {
        let u = u
            .as_object()
            .ok_or_else(|| IndexerError::Inconsistent("update is not an object".into()))?;
        let k = arg(u, "update", "kind").unwrap_or("rotate");
        let cursor = || arg(u, k, "cursor");
        match k {
            "set_bond" => {
                sqlx::query(
                    "INSERT INTO lite_bonds (chain_id, lite, id, amount, unbonding, cursor)
                     VALUES ($1,$2,$3,$4::numeric,$5::numeric,$6::numeric) ON CONFLICT (chain_id, lite, id) DO UPDATE SET
                     amount = EXCLUDED.amount, unbonding = EXCLUDED.unbonding, cursor = EXCLUDED.cursor",
                )
                .bind(c)
                .bind(lite)
                .bind(hex_arg(u, k, "id")?)
                .bind(arg(u, k, "amount")?)
                .bind(arg(u, k, "unbonding")?)
                .bind(cursor()?)
                .execute(&mut **tx)
                .await?;
            }
            "set_identity" => {
                let small =
                    |key: &str| u.get(key).and_then(Value::as_u64).unwrap_or_default() as i16;
                sqlx::query(
                    "INSERT INTO lite_identities (chain_id, lite, id, owner, wallet, entity_type, status, cursor)
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8::numeric) ON CONFLICT (chain_id, lite, id) DO UPDATE SET
                     owner = EXCLUDED.owner, wallet = EXCLUDED.wallet, entity_type = EXCLUDED.entity_type,
                     status = EXCLUDED.status, cursor = EXCLUDED.cursor",
                )
                .bind(c)
                .bind(lite)
                .bind(hex_arg(u, k, "id")?)
                .bind(hex_arg(u, k, "owner")?)
                .bind(hex_arg(u, k, "wallet")?)
                .bind(small("entityType"))
                .bind(small("status"))
                .bind(cursor()?)
                .execute(&mut **tx)
                .await?;
            }
            "set_attribute" | "remove_attribute" => {
                let set = k == "set_attribute";
                sqlx::query(
                    "INSERT INTO lite_attributes (chain_id, lite, did, name, stored, valid_to, value_info, removed, cursor)
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::numeric) ON CONFLICT (chain_id, lite, did, name) DO UPDATE SET
                     stored = EXCLUDED.stored, valid_to = EXCLUDED.valid_to, value_info = EXCLUDED.value_info,
                     removed = EXCLUDED.removed, cursor = EXCLUDED.cursor",
                )
                .bind(c)
                .bind(lite)
                .bind(hex_arg(u, k, "did")?)
                .bind(hex_arg(u, k, "name")?)
                .bind(if set { Some(hex_arg(u, k, "stored")?) } else { None })
                .bind(if set { Some(parse::<i64>(u, k, "validTo")?) } else { None })
                .bind(if set { u.get("valueInfo").and_then(Value::as_u64).map(|v| v as i16) } else { None })
                .bind(!set)
                .bind(cursor()?)
                .execute(&mut **tx)
                .await?;
            }
            _ => {} // rotations: the SignerSetRotated event updates `lites`
        }
    }
    Ok(())
}
