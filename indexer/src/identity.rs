//! Identity contracts: the home registries' events and projections, and the satellite Lites'
//! batches with the mirrored records decoded from each batch's packed updates.
//!
//! Events are decoded into the `sol!`-generated enums ([`IdentityLog`]); a Lite's `BatchApplied`
//! carries the batch's updates, unpacked from the transaction's calldata by the one codec
//! (`pact_bindings::lite_update`). Projections are maintained by applying each typed event in
//! chain order ([`apply`]); after a reorg the chain's identity projections are rebuilt by reading
//! the remaining events back into the same typed form (their stored form, [`crate::stored`]) and
//! replaying them through the same function, so live and rebuilt state cannot differ.

use crate::{
    IndexerError, IndexerResult, copy::CopyBuf, log_meta::LogMeta, stored::decode_log,
    stored::stored_events,
};
use alloy::{
    primitives::{B256, Bytes, LogData, aliases::U96, keccak256},
    sol_types::SolCall,
};
use pact_bindings::{
    did_registry::{self, DIDRegistry::DIDRegistryEvents},
    identity_registry::{self, IdentityRegistry::IdentityRegistryEvents},
    identity_status::Status,
    lite_update::{LiteKind, Update, unpack},
    sol_enum::SolEnumNames,
    stake_registry::{self, StakeRegistry::StakeRegistryEvents},
    staking_lite::{self, StakingLite::StakingLiteEvents},
};
use pact_db::bytea;
use serde_json::{Map, Value};
use sqlx::{Postgres, Transaction};

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
        self.lite().is_some()
    }

    /// The Lite, for the satellite mirrors.
    pub fn lite(self) -> Option<LiteKind> {
        match self {
            Self::IdentityLite => Some(LiteKind::Identity),
            Self::DidLite => Some(LiteKind::Did),
            Self::StakingLite => Some(LiteKind::Staking),
            Self::IdentityRegistry | Self::DidRegistry | Self::StakeRegistry => None,
        }
    }
}

/// An identity contract's event, decoded into its contract's generated enum.
#[derive(Debug, Clone, PartialEq)]
pub enum IdentityLog {
    /// `IdentityRegistry`.
    Registry(IdentityRegistryEvents),
    /// `DIDRegistry`.
    Did(DIDRegistryEvents),
    /// `StakeRegistry`.
    Stake(StakeRegistryEvents),
    /// A Lite (the three share `LiteBase`'s events). For `BatchApplied`: the batch's updates, or
    /// `None` when its calldata was not available (then the mirrored records are not updated).
    Lite(StakingLiteEvents, Option<Vec<Update>>),
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
    /// The decoded event.
    pub log: IdentityLog,
}

/// The stored key of a `BatchApplied`'s updates (next to the event's own arguments).
const UPDATES: &str = "updates";

impl IdentityEvent {
    /// Decodes the log of an identity contract into its row (`None`: not one of the contract's
    /// events); for `BatchApplied`, `input` is the transaction's calldata, from which the packed
    /// updates are unpacked and checked against the event's `updatesHash`.
    pub fn decode(
        meta: LogMeta,
        block_timestamp: u64,
        kind: IdentityKind,
        log: &LogData,
        input: Option<&Bytes>,
    ) -> IndexerResult<Option<Self>> {
        let log = match kind.lite() {
            None => match kind {
                IdentityKind::IdentityRegistry => decode_log(log)?.map(IdentityLog::Registry),
                IdentityKind::DidRegistry => decode_log(log)?.map(IdentityLog::Did),
                _ => decode_log(log)?.map(IdentityLog::Stake),
            },
            Some(lite) => match decode_log::<StakingLiteEvents>(log)? {
                Some(StakingLiteEvents::BatchApplied(b)) => {
                    let updates = input
                        .map(|input| batch_updates(lite, &b, input, meta.tx_hash))
                        .transpose()?;
                    Some(IdentityLog::Lite(
                        StakingLiteEvents::BatchApplied(b),
                        updates,
                    ))
                }
                other => other.map(|ev| IdentityLog::Lite(ev, None)),
            },
        };
        Ok(log.map(|log| Self {
            meta,
            block_timestamp,
            kind,
            log,
        }))
    }

    /// The event read back from its stored form.
    pub fn from_stored(
        meta: LogMeta,
        block_timestamp: u64,
        kind: IdentityKind,
        name: &str,
        args: &Map<String, Value>,
    ) -> IndexerResult<Self> {
        let log = match kind {
            IdentityKind::IdentityRegistry => {
                IdentityLog::Registry(IdentityRegistryEvents::from_args(name, args)?)
            }
            IdentityKind::DidRegistry => {
                IdentityLog::Did(DIDRegistryEvents::from_args(name, args)?)
            }
            IdentityKind::StakeRegistry => {
                IdentityLog::Stake(StakeRegistryEvents::from_args(name, args)?)
            }
            IdentityKind::IdentityLite | IdentityKind::DidLite | IdentityKind::StakingLite => {
                let ev = StakingLiteEvents::from_args(name, args)?;
                let updates = match args.get(UPDATES) {
                    None | Some(Value::Null) => None,
                    Some(u) => Some(serde_json::from_value(u.clone()).map_err(|e| {
                        IndexerError::Inconsistent(format!("stored {name} updates: {e}"))
                    })?),
                };
                IdentityLog::Lite(ev, updates)
            }
        };
        Ok(Self {
            meta,
            block_timestamp,
            kind,
            log,
        })
    }

    /// The Solidity event name.
    pub fn name(&self) -> &'static str {
        match &self.log {
            IdentityLog::Registry(e) => e.name(),
            IdentityLog::Did(e) => e.name(),
            IdentityLog::Stake(e) => e.name(),
            IdentityLog::Lite(e, _) => e.name(),
        }
    }

    /// The stored arguments (for `BatchApplied`, plus `updates`: their JSON form, or null).
    pub fn args(&self) -> Map<String, Value> {
        match &self.log {
            IdentityLog::Registry(e) => e.to_args(),
            IdentityLog::Did(e) => e.to_args(),
            IdentityLog::Stake(e) => e.to_args(),
            IdentityLog::Lite(e, updates) => {
                let mut args = e.to_args();
                if matches!(e, StakingLiteEvents::BatchApplied(_)) {
                    let updates = serde_json::to_value(updates)
                        .expect("updates serialize (no maps with non-string keys)");
                    args.insert(UPDATES.into(), updates);
                }
                args
            }
        }
    }
}

/// The updates of the batch `b` applied by the transaction with calldata `input`: its
/// `packedUpdates`, checked against the event's `updatesHash`, unpacked for `lite`.
fn batch_updates(
    lite: LiteKind,
    b: &staking_lite::StakingLite::BatchApplied,
    input: &Bytes,
    tx: B256,
) -> IndexerResult<Vec<Update>> {
    let call = staking_lite::StakingLite::applyBatchCall::abi_decode(input).map_err(|e| {
        IndexerError::Inconsistent(format!("BatchApplied tx {tx} is not applyBatch: {e}"))
    })?;
    if keccak256(&call.packedUpdates) != b.updatesHash {
        return Err(IndexerError::Inconsistent(format!(
            "BatchApplied in tx {tx}: calldata updates do not hash to updatesHash"
        )));
    }
    unpack(lite, &call.packedUpdates).map_err(|source| IndexerError::LiteUpdates { tx, source })
}

fn bigint(v: u64, what: &str) -> IndexerResult<i64> {
    i64::try_from(v).map_err(|_| IndexerError::Inconsistent(format!("{what} {v} exceeds bigint")))
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
            .text(e.name())
            .jsonb(&Value::Object(e.args()).to_string());
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

/// After a reorg removed the chain's rows above `above`: rebuilds every identity projection of the
/// chain from the remaining events (skipped when no identity event was removed).
pub async fn rewind(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    above: i64,
) -> IndexerResult<()> {
    let c = chain_id as i64;
    let removed = sqlx::query!(
        "DELETE FROM identity_events WHERE chain_id = $1 AND block_number > $2",
        c,
        above,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if removed == 0 {
        return Ok(());
    }
    // Every identity projection of the chain.
    sqlx::query!("DELETE FROM identities WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM did_attributes WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM stake_bonds WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM lites WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM lite_batches WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM lite_identities WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM lite_attributes WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    sqlx::query!("DELETE FROM lite_bonds WHERE chain_id = $1", c)
        .execute(&mut **tx)
        .await?;
    let rows = sqlx::query!(
        "SELECT block_number, log_index, tx_hash, block_timestamp, contract, kind, event, args
         FROM identity_events WHERE chain_id = $1 ORDER BY block_number, log_index",
        c,
    )
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let kind = IdentityKind::parse(&r.kind).ok_or_else(|| {
            IndexerError::Inconsistent(format!("stored identity kind {:?} unknown", r.kind))
        })?;
        let meta = LogMeta {
            block_number: r.block_number as u64,
            log_index: r.log_index as u32,
            tx_hash: bytea::b256(&r.tx_hash)?,
            address: bytea::address(&r.contract)?,
        };
        let Value::Object(args) = r.args else {
            return Err(IndexerError::Inconsistent(
                "stored args are not an object".into(),
            ));
        };
        let ev = IdentityEvent::from_stored(meta, r.block_timestamp as u64, kind, &r.event, &args)?;
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
    let (c, a) = (chain_id as i64, e.meta.address.as_slice());
    let (block, ts) = (e.meta.block_number as i64, e.block_timestamp as i64);
    match &e.log {
        IdentityLog::Registry(ev) => {
            use IdentityRegistryEvents as E;
            let (id, status) = match ev {
                E::IdentityRegistered(r) => {
                    sqlx::query!(
                        "INSERT INTO identities (chain_id, registry, id, owner, wallet, entity_type, status,
                         metadata_hash, updated_block, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        c,
                        a,
                        r.id.as_slice(),
                        r.owner.as_slice(),
                        r.wallet.as_slice(),
                        r.entityType as i16,
                        Status::ACTIVE.name(),
                        r.metadataHash.as_slice(),
                        block,
                        ts,
                    )
                    .execute(&mut **tx)
                    .await?;
                    return Ok(());
                }
                E::IdentityWalletChanged(w) => {
                    sqlx::query!(
                        "UPDATE identities SET wallet = $4, updated_block = $5, updated_at = $6
                         WHERE chain_id = $1 AND registry = $2 AND id = $3",
                        c,
                        a,
                        w.id.as_slice(),
                        w.newWallet.as_slice(),
                        block,
                        ts,
                    )
                    .execute(&mut **tx)
                    .await?;
                    return Ok(());
                }
                E::IdentityMetadataUpdated(m) => {
                    sqlx::query!(
                        "UPDATE identities SET metadata_hash = $4, updated_block = $5, updated_at = $6
                         WHERE chain_id = $1 AND registry = $2 AND id = $3",
                        c,
                        a,
                        m.id.as_slice(),
                        m.metadataHash.as_slice(),
                        block,
                        ts,
                    )
                    .execute(&mut **tx)
                    .await?;
                    return Ok(());
                }
                E::IdentitySuspended(s) => (s.id, Status::SUSPENDED),
                E::IdentityReinstated(s) => (s.id, Status::ACTIVE),
                E::IdentityRevoked(s) => (s.id, Status::REVOKED),
                // Ownership and domain events: kept in identity_events only.
                E::EIP712DomainChanged(_)
                | E::OwnershipTransferStarted(_)
                | E::OwnershipTransferred(_) => return Ok(()),
            };
            sqlx::query!(
                "UPDATE identities SET status = $4, updated_block = $5, updated_at = $6
                 WHERE chain_id = $1 AND registry = $2 AND id = $3",
                c,
                a,
                id.as_slice(),
                status.name(),
                block,
                ts,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Did(DIDRegistryEvents::DIDAttributeSet(s)) => {
            sqlx::query!(
                "INSERT INTO did_attributes (chain_id, registry, did, name, stored, value_info, value, valid_to, removed,
                 updated_block, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9, $10)
                 ON CONFLICT (chain_id, registry, did, name) DO UPDATE SET stored = EXCLUDED.stored,
                 value_info = EXCLUDED.value_info, value = EXCLUDED.value, valid_to = EXCLUDED.valid_to, removed = false,
                 updated_block = EXCLUDED.updated_block, updated_at = EXCLUDED.updated_at",
                c,
                a,
                s.did.as_slice(),
                s.name.as_slice(),
                s.stored.as_slice(),
                s.valueInfo as i16,
                s.value.as_ref(),
                bigint(s.validTo, "DIDAttributeSet validTo")?,
                block,
                ts,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Did(DIDRegistryEvents::DIDAttributeRemoved(r)) => {
            sqlx::query!(
                "UPDATE did_attributes SET removed = true, updated_block = $5, updated_at = $6
                 WHERE chain_id = $1 AND registry = $2 AND did = $3 AND name = $4",
                c,
                a,
                r.did.as_slice(),
                r.name.as_slice(),
                block,
                ts,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Stake(ev) => {
            use StakeRegistryEvents as E;
            let (id, amount, unbonding, unlock_at): (B256, U96, U96, Option<u64>) = match ev {
                E::Bonded(b) => (b.id, b.amount, b.unbonding, None),
                E::UnbondRequested(u) => (u.id, u.amount, u.unbonding, Some(u.unlockAt)),
                E::Withdrawn(w) => (w.id, w.amount, w.unbonding, None),
                E::Slashed(s) => (s.id, s.amount, s.unbonding, None),
                E::OwnershipTransferStarted(_) | E::OwnershipTransferred(_) => return Ok(()),
            };
            let unlock_at = unlock_at
                .map(|u| bigint(u, "UnbondRequested unlockAt"))
                .transpose()?;
            sqlx::query!(
                "INSERT INTO stake_bonds (chain_id, registry, id, amount, unbonding, unlock_at, updated_block, updated_at)
                 VALUES ($1, $2, $3, $4::text::numeric, $5::text::numeric, $6, $7, $8)
                 ON CONFLICT (chain_id, registry, id) DO UPDATE SET amount = EXCLUDED.amount,
                 unbonding = EXCLUDED.unbonding,
                 unlock_at = CASE WHEN EXCLUDED.unbonding = 0 THEN NULL ELSE coalesce(EXCLUDED.unlock_at, stake_bonds.unlock_at) END,
                 updated_block = EXCLUDED.updated_block, updated_at = EXCLUDED.updated_at",
                c,
                a,
                id.as_slice(),
                amount.to_string(),
                unbonding.to_string(),
                unlock_at,
                block,
                ts,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Lite(StakingLiteEvents::SignerSetRotated(r), _) => {
            let signers: Vec<Vec<u8>> = r.signers.iter().map(|s| s.to_vec()).collect();
            sqlx::query!(
                "INSERT INTO lites (chain_id, lite, kind, signer_set_id, signers, threshold) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (chain_id, lite) DO UPDATE SET signer_set_id = EXCLUDED.signer_set_id,
                 signers = EXCLUDED.signers, threshold = EXCLUDED.threshold",
                c,
                a,
                e.kind.name(),
                bigint(r.signerSetId, "SignerSetRotated signerSetId")?,
                &signers,
                r.threshold as i16,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Lite(StakingLiteEvents::EquivocationReported(_), _) => {
            sqlx::query!(
                "UPDATE lites SET paused = true WHERE chain_id = $1 AND lite = $2",
                c,
                a,
            )
            .execute(&mut **tx)
            .await?;
        }
        IdentityLog::Lite(StakingLiteEvents::BatchApplied(b), updates) => {
            apply_batch(tx, c, e, b, updates.as_deref()).await?;
        }
        IdentityLog::Lite(StakingLiteEvents::EIP712DomainChanged(_), _) => {}
    }
    Ok(())
}

async fn apply_batch(
    tx: &mut Transaction<'_, Postgres>,
    c: i64,
    e: &IdentityEvent,
    b: &staking_lite::StakingLite::BatchApplied,
    updates: Option<&[Update]>,
) -> IndexerResult<()> {
    let lite = e.meta.address.as_slice();
    let sequence = bigint(b.sequence, "BatchApplied sequence")?;
    let home_timestamp = bigint(b.homeTimestamp, "BatchApplied homeTimestamp")?;
    sqlx::query!(
        "INSERT INTO lite_batches (chain_id, lite, sequence, signer_set_id, from_cursor, to_cursor, home_timestamp, count,
         updates_hash, block_number, tx_hash)
         VALUES ($1, $2, $3, $4, $5::text::numeric, $6::text::numeric, $7, $8, $9, $10, $11)",
        c,
        lite,
        sequence,
        bigint(b.signerSetId, "BatchApplied signerSetId")?,
        b.fromCursor.to_string(),
        b.toCursor.to_string(),
        home_timestamp,
        b.count as i32,
        b.updatesHash.as_slice(),
        e.meta.block_number as i64,
        e.meta.tx_hash.as_slice(),
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "INSERT INTO lites (chain_id, lite, kind, last_sequence, last_cursor, last_home_timestamp)
         VALUES ($1, $2, $3, $4, $5::text::numeric, $6) ON CONFLICT (chain_id, lite) DO UPDATE SET
         last_sequence = EXCLUDED.last_sequence, last_cursor = EXCLUDED.last_cursor,
         last_home_timestamp = EXCLUDED.last_home_timestamp",
        c,
        lite,
        e.kind.name(),
        sequence,
        b.toCursor.to_string(),
        home_timestamp,
    )
    .execute(&mut **tx)
    .await?;
    let Some(updates) = updates else {
        tracing::warn!(tx = %e.meta.tx_hash, "BatchApplied without decodable calldata: mirrored records not updated");
        return Ok(());
    };
    for u in updates {
        match u {
            Update::SetBond {
                cursor,
                id,
                amount,
                unbonding,
            } => {
                sqlx::query!(
                    "INSERT INTO lite_bonds (chain_id, lite, id, amount, unbonding, cursor)
                     VALUES ($1, $2, $3, $4::text::numeric, $5::text::numeric, $6::text::numeric)
                     ON CONFLICT (chain_id, lite, id) DO UPDATE SET
                     amount = EXCLUDED.amount, unbonding = EXCLUDED.unbonding, cursor = EXCLUDED.cursor",
                    c,
                    lite,
                    id.as_slice(),
                    amount.to_string(),
                    unbonding.to_string(),
                    cursor.to_string(),
                )
                .execute(&mut **tx)
                .await?;
            }
            Update::SetIdentity {
                cursor,
                id,
                owner,
                wallet,
                entity_type,
                status,
            } => {
                sqlx::query!(
                    "INSERT INTO lite_identities (chain_id, lite, id, owner, wallet, entity_type, status, cursor)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::numeric) ON CONFLICT (chain_id, lite, id) DO UPDATE SET
                     owner = EXCLUDED.owner, wallet = EXCLUDED.wallet, entity_type = EXCLUDED.entity_type,
                     status = EXCLUDED.status, cursor = EXCLUDED.cursor",
                    c,
                    lite,
                    id.as_slice(),
                    owner.as_slice(),
                    wallet.as_slice(),
                    *entity_type as i16,
                    *status as i16,
                    cursor.to_string(),
                )
                .execute(&mut **tx)
                .await?;
            }
            Update::SetAttribute {
                cursor,
                did,
                name,
                value,
                valid_to,
                value_info,
            } => {
                sqlx::query!(
                    "INSERT INTO lite_attributes (chain_id, lite, did, name, stored, valid_to, value_info, removed, cursor)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8::text::numeric) ON CONFLICT (chain_id, lite, did, name)
                     DO UPDATE SET stored = EXCLUDED.stored, valid_to = EXCLUDED.valid_to,
                     value_info = EXCLUDED.value_info, removed = false, cursor = EXCLUDED.cursor",
                    c,
                    lite,
                    did.as_slice(),
                    name.as_slice(),
                    value.as_slice(),
                    bigint(*valid_to, "SET_ATTRIBUTE validTo")?,
                    *value_info as i16,
                    cursor.to_string(),
                )
                .execute(&mut **tx)
                .await?;
            }
            Update::RemoveAttribute { cursor, did, name } => {
                sqlx::query!(
                    "INSERT INTO lite_attributes (chain_id, lite, did, name, stored, valid_to, value_info, removed, cursor)
                     VALUES ($1, $2, $3, $4, NULL, NULL, NULL, true, $5::text::numeric)
                     ON CONFLICT (chain_id, lite, did, name) DO UPDATE SET stored = NULL, valid_to = NULL,
                     value_info = NULL, removed = true, cursor = EXCLUDED.cursor",
                    c,
                    lite,
                    did.as_slice(),
                    name.as_slice(),
                    cursor.to_string(),
                )
                .execute(&mut **tx)
                .await?;
            }
            Update::Rotate { .. } => {} // the SignerSetRotated event updates `lites`
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{primitives::Address, sol_types::SolEvent};
    use pact_bindings::{
        lite_update::{UnpackError, pack},
        staking_lite::{ILiteBase::BatchHeader, StakingLite},
    };

    /// The `BatchApplied` log of a batch of `packed` and the calldata of its `applyBatch`.
    fn batch(packed: Bytes, count: u32) -> (LogData, Bytes) {
        let header = BatchHeader {
            sourceChainId: alloy::primitives::U256::from(31337),
            signerSetId: 1,
            sequence: 1,
            fromCursor: 0,
            toCursor: 9 << 32,
            homeTimestamp: 1_000,
            count,
            updatesHash: keccak256(&packed),
        };
        let log = StakingLite::BatchApplied {
            sequence: header.sequence,
            signerSetId: header.signerSetId,
            fromCursor: header.fromCursor,
            toCursor: header.toCursor,
            homeTimestamp: header.homeTimestamp,
            count,
            updatesHash: header.updatesHash,
        }
        .encode_log_data();
        let input = StakingLite::applyBatchCall {
            header,
            packedUpdates: packed,
            signatures: Bytes::new(),
        }
        .abi_encode();
        (log, input.into())
    }

    fn meta() -> LogMeta {
        LogMeta {
            block_number: 7,
            log_index: 0,
            tx_hash: B256::repeat_byte(0x77),
            address: Address::repeat_byte(0x11),
        }
    }

    #[test]
    fn batch_updates_decode_typed_and_read_back_from_their_stored_form() {
        let bond = Update::SetBond {
            cursor: 5 << 32,
            id: B256::repeat_byte(1),
            amount: U96::from(450_000_000u64),
            unbonding: U96::from(1u64),
        };
        let (log, input) = batch(pack(std::slice::from_ref(&bond)), 1);
        let kind = IdentityKind::StakingLite;
        let ev = IdentityEvent::decode(meta(), 1, kind, &log, Some(&input))
            .unwrap()
            .unwrap();
        let IdentityLog::Lite(StakingLiteEvents::BatchApplied(_), Some(updates)) = &ev.log else {
            panic!("{ev:?}")
        };
        assert_eq!(updates, &[bond]);
        assert_eq!(ev.name(), "BatchApplied");
        let back = IdentityEvent::from_stored(meta(), 1, kind, ev.name(), &ev.args()).unwrap();
        assert_eq!(back, ev);
        // Without calldata: no updates, stored as null, read back as none.
        let bare = IdentityEvent::decode(meta(), 1, kind, &log, None)
            .unwrap()
            .unwrap();
        assert_eq!(bare.args()[UPDATES], Value::Null);
        let back = IdentityEvent::from_stored(meta(), 1, kind, bare.name(), &bare.args()).unwrap();
        assert!(matches!(back.log, IdentityLog::Lite(_, None)));
    }

    #[test]
    fn a_batch_whose_updates_do_not_unpack_is_refused_with_the_codec_error() {
        // Hashes to updatesHash, but a bond cut after its cursor.
        let mut packed = pack(&[Update::SetBond {
            cursor: 1,
            id: B256::ZERO,
            amount: U96::ZERO,
            unbonding: U96::ZERO,
        }])
        .to_vec();
        packed.truncate(9);
        let (log, input) = batch(packed.into(), 1);
        let err = IdentityEvent::decode(meta(), 1, IdentityKind::StakingLite, &log, Some(&input))
            .unwrap_err();
        assert!(
            matches!(
                err,
                IndexerError::LiteUpdates {
                    tx,
                    source: UnpackError::Truncated { index: 0, offset: 0, available: 9, .. },
                } if tx == meta().tx_hash
            ),
            "{err}"
        );
        // 0x01 is every Lite's first kind: for the IdentityLite and the DIDLite they are cut short too.
        for kind in [IdentityKind::IdentityLite, IdentityKind::DidLite] {
            let err = IdentityEvent::decode(meta(), 1, kind, &log, Some(&input)).unwrap_err();
            assert!(matches!(err, IndexerError::LiteUpdates { .. }), "{err}");
        }
    }
}
