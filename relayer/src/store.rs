//! PostgreSQL access: batches, signatures (with the equivocation guard), alerts.

use crate::{
    RelayerError, RelayerResult,
    batch::{Batch, BatchHeader},
};
use alloy::primitives::{Address, B256, Bytes, keccak256};
use pact_db::bytea::{address, b256};
use sqlx::PgPool;

/// Identifies one Lite on one satellite chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LiteId {
    /// Satellite chain id.
    pub chain_id: u64,
    /// Lite address.
    pub lite: Address,
}

/// A published signature with the batch it signs (as stored; the relayer re-verifies it).
#[derive(Debug, Clone)]
pub struct SignedBatch {
    /// The batch.
    pub batch: Batch,
    /// Digest claimed by the row.
    pub digest: B256,
    /// Claimed signer.
    pub signer: Address,
    /// 65-byte signature.
    pub signature: Bytes,
}

/// The daemon's own signed batches.
#[derive(Debug, Clone, Copy)]
pub struct OwnSigned {
    /// Sequence.
    pub sequence: u64,
    /// From cursor.
    pub from_cursor: u64,
    /// To cursor.
    pub to_cursor: u64,
    /// Home timestamp.
    pub home_timestamp: u64,
}

/// Outcome of [`sign_once`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOutcome {
    /// Newly signed and published.
    Signed,
    /// The same digest was already signed (nothing new).
    AlreadySigned,
}

/// Publishes `batch` and `signature` by `signer`, unless `signer` already signed a different
/// digest for this (chain, Lite, signer set, sequence): then nothing is written and
/// [`RelayerError::Equivocation`] is returned. `signature` is only computed when needed.
pub async fn sign_once(
    db: &PgPool,
    id: LiteId,
    batch: &Batch,
    digest: B256,
    signer: Address,
    sign: impl FnOnce() -> RelayerResult<[u8; 65]>,
) -> RelayerResult<SignOutcome> {
    let h = &batch.header;
    let mut tx = db.begin().await?;
    // Serialise every instance holding this key on this (Lite, set, sequence).
    let lock_key = keccak256(
        [
            &id.chain_id.to_be_bytes()[..],
            id.lite.as_slice(),
            &h.signer_set_id.to_be_bytes(),
            &h.sequence.to_be_bytes(),
            signer.as_slice(),
        ]
        .concat(),
    );
    let lock = i64::from_be_bytes(lock_key[..8].try_into().expect("8 bytes"));
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", lock)
        .execute(&mut *tx)
        .await?;
    let existing: Vec<Vec<u8>> = sqlx::query_scalar!(
        "SELECT digest FROM relayer_signatures WHERE chain_id = $1 AND lite = $2 AND signer_set_id = $3 AND sequence = $4 AND signer = $5",
        id.chain_id as i64,
        id.lite.as_slice(),
        h.signer_set_id as i64,
        h.sequence as i64,
        signer.as_slice(),
    )
    .fetch_all(&mut *tx)
    .await?;
    let existing = existing
        .iter()
        .map(|d| b256(d))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(&prev) = existing.iter().find(|d| **d != digest) {
        return Err(RelayerError::Equivocation {
            chain_id: id.chain_id,
            lite: id.lite,
            signer_set_id: h.signer_set_id,
            sequence: h.sequence,
            signed: prev,
            asked: digest,
        });
    }
    if !existing.is_empty() {
        return Ok(SignOutcome::AlreadySigned);
    }
    sqlx::query!(
        "INSERT INTO relayer_batches (chain_id, lite, signer_set_id, sequence, digest, source_chain_id, from_cursor, to_cursor, home_timestamp, count, updates_hash, packed_updates)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        id.chain_id as i64,
        id.lite.as_slice(),
        h.signer_set_id as i64,
        h.sequence as i64,
        digest.as_slice(),
        h.source_chain_id as i64,
        h.from_cursor as i64,
        h.to_cursor as i64,
        h.home_timestamp as i64,
        h.count as i32,
        h.updates_hash.as_slice(),
        batch.packed.as_ref(),
    )
    .execute(&mut *tx)
    .await?;
    let signature = sign()?;
    let inserted = sqlx::query!(
        "INSERT INTO relayer_signatures (chain_id, lite, signer_set_id, sequence, signer, digest, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        id.chain_id as i64,
        id.lite.as_slice(),
        h.signer_set_id as i64,
        h.sequence as i64,
        signer.as_slice(),
        digest.as_slice(),
        &signature[..],
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if inserted == 0 {
        return Ok(SignOutcome::AlreadySigned);
    }
    Ok(SignOutcome::Signed)
}

/// The batches `signer` signed for `set_id` with a sequence above `after`, ascending.
pub async fn own_signed_after(
    db: &PgPool,
    id: LiteId,
    set_id: u64,
    signer: Address,
    after: u64,
) -> RelayerResult<Vec<OwnSigned>> {
    let rows = sqlx::query!(
        "SELECT b.sequence, b.from_cursor, b.to_cursor, b.home_timestamp FROM relayer_signatures s
         JOIN relayer_batches b USING (chain_id, lite, signer_set_id, sequence, digest)
         WHERE s.chain_id = $1 AND s.lite = $2 AND s.signer_set_id = $3 AND s.signer = $4 AND s.sequence > $5
         ORDER BY s.sequence",
        id.chain_id as i64,
        id.lite.as_slice(),
        set_id as i64,
        signer.as_slice(),
        after as i64,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OwnSigned {
            sequence: r.sequence as u64,
            from_cursor: r.from_cursor as u64,
            to_cursor: r.to_cursor as u64,
            home_timestamp: r.home_timestamp as u64,
        })
        .collect())
}

/// Every published signature for (Lite, set id, sequence), with its batch.
pub async fn signatures_for(
    db: &PgPool,
    id: LiteId,
    set_id: u64,
    sequence: u64,
) -> RelayerResult<Vec<SignedBatch>> {
    let rows = sqlx::query!(
        "SELECT s.signer, s.signature, s.digest, b.source_chain_id, b.from_cursor, b.to_cursor, b.home_timestamp,
                b.count, b.updates_hash, b.packed_updates
         FROM relayer_signatures s
         JOIN relayer_batches b USING (chain_id, lite, signer_set_id, sequence, digest)
         WHERE s.chain_id = $1 AND s.lite = $2 AND s.signer_set_id = $3 AND s.sequence = $4",
        id.chain_id as i64,
        id.lite.as_slice(),
        set_id as i64,
        sequence as i64,
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            let header = BatchHeader {
                source_chain_id: r.source_chain_id as u64,
                signer_set_id: set_id,
                sequence,
                from_cursor: r.from_cursor as u64,
                to_cursor: r.to_cursor as u64,
                home_timestamp: r.home_timestamp as u64,
                count: r.count as u32,
                updates_hash: b256(&r.updates_hash)?,
            };
            Ok(SignedBatch {
                batch: Batch {
                    header,
                    packed: r.packed_updates.into(),
                },
                digest: b256(&r.digest)?,
                signer: address(&r.signer)?,
                signature: r.signature.into(),
            })
        })
        .collect()
}

/// Records an alert (also logged at `error` with target `pact_relayer::alert`).
pub async fn alert(
    db: &PgPool,
    chain_id: u64,
    lite: Option<Address>,
    kind: &str,
    detail: serde_json::Value,
) {
    tracing::error!(target: "pact_relayer::alert", chain_id, ?lite, kind, %detail, "alert");
    let res = sqlx::query!(
        "INSERT INTO relayer_alerts (chain_id, lite, kind, detail) VALUES ($1, $2, $3, $4)",
        chain_id as i64,
        lite.as_ref().map(|l| l.as_slice()),
        kind,
        detail,
    )
    .execute(db)
    .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not record alert");
    }
}
