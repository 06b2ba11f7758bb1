//! The keeper: fires the escrow's automatic steps (review start, completion, expiry refund,
//! default ruling) with `advanceMany`, in batches.
//!
//! It does not depend on the indexer: it scans `OrderFunded` itself (from the escrow's deploy
//! block, cursor in `relayer_keeper_cursors`), keeps the open orders in
//! `relayer_keeper_orders`, asks the contract's `nextDeadline(id)` for each and fires the ones
//! whose step is due at the latest block's timestamp, including a review the clock started that is not
//! written yet (so indexers and the API see REVIEWING). Orders in a terminal state are marked done.

use crate::{RelayerError, RelayerResult, tx::TxSender};
use alloy::{
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use pact_bindings::{
    escrow::PactEscrow,
    escrow_enums::{Action, State},
};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};

/// Settings of the keeper.
#[derive(Debug, Clone)]
pub struct KeeperConfig {
    /// Escrow address.
    pub escrow: Address,
    /// Escrow deploy block (first block scanned).
    pub start_block: u64,
    /// Orders per `advanceMany`.
    pub batch_size: usize,
    /// Largest `eth_getLogs` range.
    pub scan_blocks: u64,
    /// Idle polling interval.
    pub poll: Duration,
}

/// The keeper for one escrow.
#[derive(Debug)]
pub struct Keeper {
    db: PgPool,
    provider: DynProvider,
    sender: Arc<TxSender>,
    cfg: KeeperConfig,
}

/// What one keeper pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeeperPass {
    /// Orders found due.
    pub due: usize,
    /// `advanceMany` transactions sent.
    pub transactions: usize,
    /// Orders the contract reported as advanced.
    pub advanced: u64,
}

impl Keeper {
    /// A keeper sending through `sender` (shared with the relayer on the same chain).
    pub fn new(
        db: PgPool,
        provider: DynProvider,
        sender: Arc<TxSender>,
        cfg: KeeperConfig,
    ) -> Self {
        Self {
            db,
            provider,
            sender,
            cfg,
        }
    }

    /// Runs until dropped.
    pub async fn run(self) -> RelayerResult<()> {
        tracing::info!(escrow = %self.cfg.escrow, "keeper started");
        loop {
            match self.pass().await {
                Ok(p) if p.transactions > 0 => {}
                Ok(_) => tokio::time::sleep(self.cfg.poll).await,
                Err(e) => {
                    tracing::warn!(error = &e as &dyn std::error::Error, "keeper pass failed");
                    tokio::time::sleep(self.cfg.poll * 4).await;
                }
            }
        }
    }

    async fn scan(&self, chain_id: u64, head: u64) -> RelayerResult<()> {
        let last: Option<i64> = sqlx::query_scalar!(
            "SELECT block_number FROM relayer_keeper_cursors WHERE chain_id = $1 AND escrow = $2",
            chain_id as i64,
            self.cfg.escrow.as_slice(),
        )
        .fetch_optional(&self.db)
        .await?;
        let mut from = last.map(|b| b as u64 + 1).unwrap_or(self.cfg.start_block);
        while from <= head {
            let to = head.min(from + self.cfg.scan_blocks.max(1) - 1);
            let filter = Filter::new()
                .address(self.cfg.escrow)
                .event_signature(PactEscrow::OrderFunded::SIGNATURE_HASH)
                .from_block(from)
                .to_block(to);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(RelayerError::rpc("eth_getLogs"))?;
            let mut tx = self.db.begin().await?;
            for log in logs {
                let Some(id) = log.topics().get(1) else {
                    continue;
                };
                sqlx::query!(
                    "INSERT INTO relayer_keeper_orders (chain_id, escrow, order_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    chain_id as i64,
                    self.cfg.escrow.as_slice(),
                    id.as_slice(),
                )
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query!(
                "INSERT INTO relayer_keeper_cursors (chain_id, escrow, block_number) VALUES ($1, $2, $3)
                 ON CONFLICT (chain_id, escrow) DO UPDATE SET block_number = EXCLUDED.block_number",
                chain_id as i64,
                self.cfg.escrow.as_slice(),
                to as i64,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            from = to + 1;
        }
        Ok(())
    }

    /// One pass: scan new orders, find the due ones, fire them in batches.
    #[tracing::instrument(skip_all, fields(escrow = %self.cfg.escrow), err)]
    pub async fn pass(&self) -> RelayerResult<KeeperPass> {
        let chain_id = self.sender.chain_id();
        let head_block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(RelayerError::rpc("eth_getBlockByNumber"))?
            .ok_or(RelayerError::Missing("latest block"))?;
        let (head, now) = (head_block.header.number, head_block.header.timestamp);
        self.scan(chain_id, head).await?;
        let open: Vec<Vec<u8>> = sqlx::query_scalar!(
            "SELECT order_id FROM relayer_keeper_orders WHERE chain_id = $1 AND escrow = $2 AND NOT done ORDER BY order_id",
            chain_id as i64,
            self.cfg.escrow.as_slice(),
        )
        .fetch_all(&self.db)
        .await?;
        let escrow = PactEscrow::new(self.cfg.escrow, self.provider.clone());
        let mut due = Vec::new();
        for id in open {
            let id = pact_db::bytea::b256(&id)?;
            let next = escrow
                .nextDeadline(id)
                .call()
                .await
                .map_err(RelayerError::contract("nextDeadline"))?;
            if next.action == Action::NONE as u8 {
                let order = escrow
                    .getOrder(id)
                    .call()
                    .await
                    .map_err(RelayerError::contract("getOrder"))?;
                if State::try_from(order.state).is_ok_and(State::is_terminal) {
                    sqlx::query!(
                        "UPDATE relayer_keeper_orders SET done = true WHERE chain_id = $1 AND escrow = $2 AND order_id = $3",
                        chain_id as i64,
                        self.cfg.escrow.as_slice(),
                        id.as_slice(),
                    )
                    .execute(&self.db)
                    .await?;
                }
            } else if next.at <= now {
                due.push(id);
            }
        }
        let mut pass = KeeperPass {
            due: due.len(),
            ..Default::default()
        };
        for chunk in due.chunks(self.cfg.batch_size.max(1)) {
            let ids = chunk.to_vec();
            let advanced = escrow
                .advanceMany(ids.clone())
                .call()
                .await
                .map_err(RelayerError::contract("advanceMany"))?;
            if advanced == alloy::primitives::U256::ZERO {
                continue;
            }
            let input: Bytes = PactEscrow::advanceManyCall { orderIds: ids }
                .abi_encode()
                .into();
            let receipt = self
                .sender
                .send(self.cfg.escrow, input, "advanceMany")
                .await?;
            pass.transactions += 1;
            if receipt.status() {
                pass.advanced += advanced.to::<u64>();
                tracing::info!(
                    orders = chunk.len(),
                    gas = receipt.gas_used,
                    "advanceMany landed"
                );
            } else {
                tracing::warn!(tx = %receipt.transaction_hash, "advanceMany reverted");
            }
        }
        Ok(pass)
    }
}
