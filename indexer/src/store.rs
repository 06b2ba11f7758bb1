//! The indexer's side of PostgreSQL: every write is one transaction holding the rows, the block
//! window and the cursor (compare-and-set, so two indexers on one chain cannot interleave), with a
//! `NOTIFY pact_chain` delivered on commit.

use crate::{
    IndexerError, IndexerResult,
    copy::CopyBuf,
    decode::{Batch, Contracts},
    escrow_store,
    rpc::Head,
};
use alloy::primitives::B256;
use pact_db::bytea::b256;
use sqlx::{PgPool, Postgres, Transaction, postgres::PgPoolOptions};

/// The channel `NOTIFY` is sent on after every commit; the payload is JSON
/// `{"chain_id":N,"from":A,"to":B}` (rows added for blocks A..=B) or
/// `{"chain_id":N,"reorg":F}` (everything above block F was removed).
pub const NOTIFY_CHANNEL: &str = pact_db::channel::CHAIN;

/// Where a chain's indexing stands: every log up to and including this block is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Block number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
}

/// The indexer's database handle.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects and applies the migrations.
    pub async fn connect(url: &str) -> IndexerResult<Self> {
        let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
        crate::MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// A store over an existing pool (migrations must have run).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The chain's cursor, if it has indexed anything.
    pub async fn cursor(&self, chain_id: u64) -> IndexerResult<Option<Cursor>> {
        let row = sqlx::query!(
            "SELECT block_number, block_hash FROM indexer_cursors WHERE chain_id = $1",
            chain_id as i64,
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Cursor {
                number: r.block_number as u64,
                hash: b256(&r.block_hash)?,
            })
        })
        .transpose()
    }

    /// Stored window blocks, newest first.
    pub async fn window(&self, chain_id: u64) -> IndexerResult<Vec<Cursor>> {
        let rows = sqlx::query!(
            "SELECT number, hash FROM blocks WHERE chain_id = $1 ORDER BY number DESC",
            chain_id as i64,
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Cursor {
                    number: r.number as u64,
                    hash: b256(&r.hash)?,
                })
            })
            .collect()
    }

    /// Writes `batch` (rows of blocks `prev+1..=to.number`), the window `blocks`, and moves the
    /// cursor from `prev` to `to`, in one transaction. Blocks older than `keep` below `to` are
    /// pruned from the window.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit(
        &self,
        chain_id: u64,
        contracts: &Contracts,
        prev: Option<Cursor>,
        batch: &Batch,
        blocks: &[Head],
        to: Cursor,
        keep: u64,
    ) -> IndexerResult<()> {
        let mut tx = self.pool.begin().await?;
        write_rows(&mut tx, chain_id, batch).await?;
        escrow_store::write(&mut tx, chain_id, &batch.escrow_events, contracts).await?;
        crate::identity::write(&mut tx, chain_id, &batch.identity_events).await?;
        if !blocks.is_empty() {
            let numbers: Vec<i64> = blocks.iter().map(|b| b.number as i64).collect();
            let hashes: Vec<Vec<u8>> = blocks.iter().map(|b| b.hash.to_vec()).collect();
            let parents: Vec<Vec<u8>> = blocks.iter().map(|b| b.parent_hash.to_vec()).collect();
            let stamps: Vec<i64> = blocks.iter().map(|b| b.timestamp as i64).collect();
            sqlx::query!(
                "INSERT INTO blocks (chain_id, number, hash, parent_hash, timestamp)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[])
                 ON CONFLICT (chain_id, number) DO UPDATE
                 SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash, timestamp = EXCLUDED.timestamp",
                chain_id as i64,
                &numbers,
                &hashes,
                &parents,
                &stamps,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "DELETE FROM blocks WHERE chain_id = $1 AND number < $2",
                chain_id as i64,
                to.number.saturating_sub(keep) as i64,
            )
            .execute(&mut *tx)
            .await?;
        }
        move_cursor(&mut tx, chain_id, prev, Some(to)).await?;
        let from = prev.map_or(0, |c| c.number + 1);
        notify(
            &mut tx,
            &format!(
                r#"{{"chain_id":{chain_id},"from":{from},"to":{}}}"#,
                to.number
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undoes everything above `fork` (a reorg): rows, window blocks and the cursor, in one
    /// transaction, with an audit row. `fork = None` removes everything of the chain.
    pub async fn rewind(
        &self,
        chain_id: u64,
        contracts: &Contracts,
        prev: Cursor,
        fork: Option<Cursor>,
        new_head: Cursor,
    ) -> IndexerResult<()> {
        let above = fork.map_or(-1, |f| f.number as i64);
        let mut tx = self.pool.begin().await?;
        escrow_store::rewind(&mut tx, chain_id, above, contracts).await?;
        crate::identity::rewind(&mut tx, chain_id, above).await?;
        // The event table with no projection: its rows above the fork go.
        sqlx::query!(
            "DELETE FROM token_transfers WHERE chain_id = $1 AND block_number > $2",
            chain_id as i64,
            above,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "DELETE FROM blocks WHERE chain_id = $1 AND number > $2",
            chain_id as i64,
            above,
        )
        .execute(&mut *tx)
        .await?;
        move_cursor(&mut tx, chain_id, Some(prev), fork).await?;
        sqlx::query!(
            "INSERT INTO reorgs (chain_id, fork_block, old_head, old_hash, new_head, new_hash)
             VALUES ($1, $2, $3, $4, $5, $6)",
            chain_id as i64,
            above,
            prev.number as i64,
            prev.hash.as_slice(),
            new_head.number as i64,
            new_head.hash.as_slice(),
        )
        .execute(&mut *tx)
        .await?;
        notify(
            &mut tx,
            &format!(r#"{{"chain_id":{chain_id},"reorg":{above}}}"#),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn write_rows(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    batch: &Batch,
) -> IndexerResult<()> {
    if batch.token_transfers.is_empty() {
        return Ok(());
    }
    let mut buf = CopyBuf::new();
    for t in &batch.token_transfers {
        buf.row(8)
            .log_key(chain_id, &t.meta)
            .bytea(t.meta.address.as_slice())
            .bytea(t.from.as_slice())
            .bytea(t.to.as_slice())
            .numeric(t.amount);
    }
    let mut copy = tx
        .copy_in_raw(
            "COPY token_transfers (chain_id, block_number, log_index, tx_hash, token, sender, recipient, amount) \
             FROM STDIN (FORMAT binary)",
        )
        .await?;
    copy.send(buf.finish()).await?;
    copy.finish().await?;
    Ok(())
}

async fn move_cursor(
    tx: &mut Transaction<'_, Postgres>,
    chain_id: u64,
    prev: Option<Cursor>,
    to: Option<Cursor>,
) -> IndexerResult<()> {
    let moved = match (prev, to) {
        (None, Some(to)) => sqlx::query!(
            "INSERT INTO indexer_cursors (chain_id, block_number, block_hash) VALUES ($1, $2, $3)
             ON CONFLICT (chain_id) DO NOTHING",
            chain_id as i64,
            to.number as i64,
            to.hash.as_slice(),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        (Some(prev), Some(to)) => sqlx::query!(
            "UPDATE indexer_cursors SET block_number = $3, block_hash = $4, updated_at = now()
             WHERE chain_id = $1 AND block_number = $2",
            chain_id as i64,
            prev.number as i64,
            to.number as i64,
            to.hash.as_slice(),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        (Some(prev), None) => sqlx::query!(
            "DELETE FROM indexer_cursors WHERE chain_id = $1 AND block_number = $2",
            chain_id as i64,
            prev.number as i64,
        )
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        (None, None) => 1,
    };
    if moved != 1 {
        return Err(IndexerError::Inconsistent(format!(
            "chain {chain_id}: the cursor is not at {:?} any more (another indexer on this chain?)",
            prev.map(|c| c.number)
        )));
    }
    Ok(())
}

async fn notify(tx: &mut Transaction<'_, Postgres>, payload: &str) -> IndexerResult<()> {
    sqlx::query!("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, payload,)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
