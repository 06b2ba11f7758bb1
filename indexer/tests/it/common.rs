//! Shared by the indexer tests: a chain with a log emitter, the canonical rows read straight from
//! the node, and the rows the indexer wrote.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use pact_bindings::LogEmitter;
use pact_indexer::{
    decode::{ContractKind, Contracts},
    follower::{Follower, FollowerConfig},
    store::Store,
};
use pact_testkit::{AnvilApi, TestChain, TestDb};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// A transfer row: (block, log index, tx hash, token, from, to, amount as decimal string).
pub type Row = (i64, i32, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, String);

pub struct Env {
    pub chain: TestChain,
    pub emitter: Address,
    pub deploy_block: u64,
    pub db: TestDb,
    pub store: Store,
}

pub async fn env(chain_id: u64) -> eyre::Result<Env> {
    let chain = pact_testkit::anvil(chain_id)?;
    let emitter = *LogEmitter::deploy(&chain.provider).await?.address();
    let deploy_block = chain.provider.get_block_number().await?;
    let db = TestDb::new().await?;
    let store = Store::connect(&db.url).await?;
    Ok(Env {
        chain,
        emitter,
        deploy_block,
        db,
        store,
    })
}

impl Env {
    pub fn contracts(&self) -> Contracts {
        let mut c = Contracts::default();
        c.insert(self.emitter, ContractKind::Token);
        c
    }

    pub fn config(&self) -> FollowerConfig {
        let mut cfg = FollowerConfig::new(
            31337,
            self.chain.rpc_url(),
            self.contracts(),
            self.deploy_block,
        );
        cfg.chain_id = self.chain.anvil.chain_id();
        cfg.poll_interval = Duration::from_millis(10);
        cfg
    }

    pub fn follower(&self, cfg: FollowerConfig) -> Follower {
        Follower::new(cfg, self.store.clone()).unwrap()
    }

    /// `txs` transactions (one block each) of `per_tx` transfers; `salt` makes values distinct.
    pub async fn fill(&self, txs: usize, per_tx: u64, salt: u64) -> eyre::Result<()> {
        // A fresh provider: a provider's receipt watcher remembers the highest block it saw, and
        // after an anvil revert the new branch reuses lower numbers.
        let emitter = LogEmitter::new(self.emitter, self.chain.provider_for(0));
        for i in 0..txs {
            let from = Address::with_last_byte((i % 200) as u8 + 1);
            emitter
                .emitTransfers(
                    from,
                    Address::with_last_byte(0x40),
                    U256::from(salt * 1_000_000 + i as u64 * 1000),
                    U256::from(per_tx),
                )
                .send()
                .await?
                .with_timeout(Some(Duration::from_secs(10)))
                .get_receipt()
                .await?;
        }
        Ok(())
    }

    /// Mines `n` empty blocks.
    pub async fn mine(&self, n: u64) -> eyre::Result<()> {
        self.chain.provider.anvil_mine(Some(n), None).await?;
        Ok(())
    }

    /// The canonical transfer rows, straight from the node.
    pub async fn canonical(&self) -> eyre::Result<Vec<Row>> {
        let head = self.chain.provider.get_block_number().await?;
        let logs = self
            .chain
            .provider
            .get_logs(
                &Filter::new()
                    .address(self.emitter)
                    .from_block(self.deploy_block)
                    .to_block(head),
            )
            .await?;
        let mut rows: Vec<Row> = logs
            .iter()
            .map(|l| {
                let ev = LogEmitter::Transfer::decode_log_data(l.data()).unwrap();
                (
                    l.block_number.unwrap() as i64,
                    l.log_index.unwrap() as i32,
                    l.transaction_hash.unwrap().to_vec(),
                    l.address().to_vec(),
                    ev.from.to_vec(),
                    ev.to.to_vec(),
                    ev.value.to_string(),
                )
            })
            .collect();
        rows.sort();
        Ok(rows)
    }

    /// Waits until the indexer's cursor is at the node's head (hash included).
    pub async fn wait_synced(&self, timeout: Duration) -> eyre::Result<()> {
        wait_synced(&self.chain, &self.store, timeout).await
    }
}

pub async fn wait_synced(chain: &TestChain, store: &Store, timeout: Duration) -> eyre::Result<()> {
    let started = Instant::now();
    loop {
        let head = chain
            .provider
            .get_block(alloy::eips::BlockId::latest())
            .await?
            .unwrap();
        let cursor = store.cursor(chain.anvil.chain_id()).await?;
        if cursor.is_some_and(|c| c.number == head.header.number && c.hash == head.header.hash) {
            return Ok(());
        }
        eyre::ensure!(
            started.elapsed() < timeout,
            "not synced after {timeout:?}: cursor {cursor:?}, head {}",
            head.header.number
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The transfer rows the indexer wrote.
pub async fn db_rows(pool: &PgPool) -> eyre::Result<Vec<Row>> {
    Ok(sqlx::query_as(
        "SELECT block_number, log_index, tx_hash, token, sender, recipient, amount::text FROM token_transfers ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?)
}

/// Everything the indexer writes that must match between two runs, as text.
pub async fn db_dump(pool: &PgPool) -> eyre::Result<Vec<String>> {
    let mut out: Vec<String> = db_rows(pool)
        .await?
        .into_iter()
        .map(|r| format!("{r:?}"))
        .collect();
    let cursors: Vec<(i64, i64, Vec<u8>)> =
        sqlx::query_as("SELECT chain_id, block_number, block_hash FROM indexer_cursors ORDER BY 1")
            .fetch_all(pool)
            .await?;
    out.extend(cursors.into_iter().map(|c| format!("cursor {c:?}")));
    Ok(out)
}

/// Runs `follower` in the background until the returned sender is dropped or sent `true`.
pub fn spawn(follower: Follower) -> tokio::sync::watch::Sender<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move { follower.run(rx).await.unwrap() });
    tx
}
