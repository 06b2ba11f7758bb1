//! A persisted nonce manager that lands transactions: one transaction in flight per account,
//! replaced with fees bumped by at least 10% while it is not mined, capped; reconciled with the
//! chain at start-up. The relayer and the keeper share one [`TxSender`] per (chain, account).

use crate::{RelayerError, RelayerResult};
use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Fee and replacement policy.
#[derive(Debug, Clone, Copy)]
pub struct FeePolicy {
    /// Replace a transaction not mined after this long.
    pub bump_after: Duration,
    /// Fee increase per replacement, in percent (at least 10).
    pub bump_percent: u64,
    /// Highest `maxFeePerGas` ever offered, in wei.
    pub max_fee_cap: u128,
    /// Give up on one nonce after this many broadcasts at the cap.
    pub max_attempts: u32,
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self {
            bump_after: Duration::from_secs(12),
            bump_percent: 15,
            max_fee_cap: 500_000_000_000,
            max_attempts: 50,
        }
    }
}

/// Sends transactions for one account on one chain.
#[derive(Debug)]
pub struct TxSender {
    provider: DynProvider,
    key: PrivateKeySigner,
    chain_id: u64,
    db: PgPool,
    policy: FeePolicy,
    next_nonce: Mutex<u64>,
}

fn bump(v: u128, pct: u64) -> u128 {
    v.saturating_mul(100 + pct as u128).div_ceil(100)
}

impl TxSender {
    /// Reconciles the stored nonce with the chain: the next nonce is the account's mined
    /// transaction count; transactions broadcast by an earlier run and not mined are replaced
    /// (their stored fees are bumped) when that nonce is used again.
    pub async fn new(
        provider: DynProvider,
        key: PrivateKeySigner,
        db: PgPool,
        policy: FeePolicy,
    ) -> RelayerResult<Self> {
        if policy.bump_percent < 10 {
            return Err(RelayerError::Config(
                "bump_percent must be at least 10".into(),
            ));
        }
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(RelayerError::rpc("eth_chainId"))?;
        let addr = key.address();
        let mined = provider
            .get_transaction_count(addr)
            .latest()
            .await
            .map_err(RelayerError::rpc("eth_getTransactionCount"))?;
        let stored: Option<i64> = sqlx::query_scalar!(
            "SELECT next_nonce FROM relayer_nonces WHERE chain_id = $1 AND address = $2",
            chain_id as i64,
            addr.as_slice(),
        )
        .fetch_optional(&db)
        .await?;
        if let Some(s) = stored
            && s as u64 > mined
        {
            tracing::warn!(%addr, chain_id, stored = s, mined, "transactions of an earlier run not mined; they will be replaced");
        }
        let s = Self {
            provider,
            key,
            chain_id,
            db,
            policy,
            next_nonce: Mutex::new(mined),
        };
        s.persist(mined).await?;
        s.reconcile_below(mined).await?;
        Ok(s)
    }

    /// Settles the stored attempts of nonces the chain has used (below `mined`) that still say
    /// `sent` (their sender died, or another sender used the nonce): the attempt with a receipt is
    /// `mined` with its gas, the others `replaced`. Every attempt row then says what became of it.
    async fn reconcile_below(&self, mined: u64) -> RelayerResult<()> {
        let addr = self.address();
        let open = sqlx::query!(
            "SELECT nonce, tx_hash FROM relayer_txs
             WHERE chain_id = $1 AND address = $2 AND nonce < $3 AND status = 'sent' ORDER BY nonce, id",
            self.chain_id as i64,
            addr.as_slice(),
            mined as i64,
        )
        .fetch_all(&self.db)
        .await?;
        for row in &open {
            let hash = pact_db::bytea::b256(&row.tx_hash)?;
            let nonce = &row.nonce;
            let receipt = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(RelayerError::rpc("eth_getTransactionReceipt"))?;
            if let Some(r) = receipt {
                self.record_mined(*nonce as u64, r.transaction_hash, r.gas_used)
                    .await?;
            }
        }
        let replaced = sqlx::query!(
            "UPDATE relayer_txs SET status = 'replaced'
             WHERE chain_id = $1 AND address = $2 AND nonce < $3 AND status = 'sent'",
            self.chain_id as i64,
            addr.as_slice(),
            mined as i64,
        )
        .execute(&self.db)
        .await?
        .rows_affected();
        if !open.is_empty() {
            tracing::info!(
                attempts = open.len(),
                replaced,
                "settled attempts of an earlier run"
            );
        }
        Ok(())
    }

    /// Marks `hash` mined (with its gas) and the other attempts at `nonce` replaced.
    async fn record_mined(&self, nonce: u64, hash: B256, gas_used: u64) -> RelayerResult<()> {
        let addr = self.address();
        sqlx::query!(
            "UPDATE relayer_txs SET status = CASE WHEN tx_hash = $4 THEN 'mined' ELSE 'replaced' END,
             gas_used = CASE WHEN tx_hash = $4 THEN $5 ELSE gas_used END
             WHERE chain_id = $1 AND address = $2 AND nonce = $3",
            self.chain_id as i64,
            addr.as_slice(),
            nonce as i64,
            hash.as_slice(),
            gas_used as i64,
        )
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// The sending account.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The receipt of whichever attempt at `nonce` (`hashes`) was mined, recorded as mined with the
    /// next nonce persisted; `None` while none is.
    async fn settle_if_mined(
        &self,
        nonce: u64,
        hashes: &[B256],
        next: &mut u64,
    ) -> RelayerResult<Option<TransactionReceipt>> {
        for h in hashes {
            if let Some(r) = self
                .provider
                .get_transaction_receipt(*h)
                .await
                .map_err(RelayerError::rpc("eth_getTransactionReceipt"))?
            {
                self.record_mined(nonce, *h, r.gas_used).await?;
                *next = nonce + 1;
                self.persist(nonce + 1).await?;
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    async fn persist(&self, next: u64) -> RelayerResult<()> {
        let addr = self.address();
        sqlx::query!(
            "INSERT INTO relayer_nonces (chain_id, address, next_nonce) VALUES ($1, $2, $3)
             ON CONFLICT (chain_id, address) DO UPDATE SET next_nonce = EXCLUDED.next_nonce, updated_at = now()",
            self.chain_id as i64,
            addr.as_slice(),
            next as i64,
        )
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Lands a call to `to` with `input`: returns its receipt (which may show a revert).
    #[tracing::instrument(skip_all, fields(chain_id = self.chain_id, purpose), err)]
    pub async fn send(
        &self,
        to: Address,
        input: Bytes,
        purpose: &str,
    ) -> RelayerResult<TransactionReceipt> {
        let mut next = self.next_nonce.lock().await;
        let addr = self.address();
        let mined = self
            .provider
            .get_transaction_count(addr)
            .latest()
            .await
            .map_err(RelayerError::rpc("eth_getTransactionCount"))?;
        // One transaction in flight per account (we hold the lock), so the chain's mined count
        // is the next nonce: higher if another process used the account, lower if a satellite
        // reorg dropped our transactions (they are outbid below through their stored fees).
        if mined != *next {
            tracing::info!(stored = *next, mined, "nonce reconciled with the chain");
            *next = mined;
            self.reconcile_below(mined).await?;
        }
        let nonce = *next;
        let req = TransactionRequest::default()
            .from(addr)
            .to(to)
            .input(input.clone().into());
        // Against the latest block, not the pending one: a pending attempt at this nonce (of a
        // crashed run) is what this transaction replaces, so it must not be estimated on top of it.
        let gas = self
            .provider
            .estimate_gas(req)
            .block(alloy::eips::BlockId::latest())
            .await
            .map_err(RelayerError::rpc("eth_estimateGas"))?;
        let gas_limit = gas + gas / 5 + 10_000;
        let est = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(RelayerError::rpc("eth_feeHistory"))?;
        let (mut max_fee, mut prio) = (est.max_fee_per_gas, est.max_priority_fee_per_gas.max(1));
        // An earlier attempt at this nonce (this run or a crashed one) must be outbid.
        let prev = sqlx::query!(
            r#"SELECT max(max_fee_per_gas)::text AS "max_fee!", max(max_priority_fee_per_gas)::text AS "max_prio!"
               FROM relayer_txs WHERE chain_id = $1 AND address = $2 AND nonce = $3 HAVING count(*) > 0"#,
            self.chain_id as i64,
            addr.as_slice(),
            nonce as i64,
        )
        .fetch_optional(&self.db)
        .await?;
        if let Some(prev) = prev {
            let (pf, pp) = (
                prev.max_fee.parse::<u128>().unwrap_or(0),
                prev.max_prio.parse::<u128>().unwrap_or(0),
            );
            max_fee = max_fee.max(bump(pf, self.policy.bump_percent));
            prio = prio.max(bump(pp, self.policy.bump_percent));
        }
        let mut hashes: Vec<B256> = Vec::new();
        let mut attempts = 0u32;
        loop {
            max_fee = max_fee.min(self.policy.max_fee_cap);
            prio = prio.min(max_fee);
            let mut tx = TxEip1559 {
                chain_id: self.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: prio,
                to: TxKind::Call(to),
                value: U256::ZERO,
                access_list: Default::default(),
                input: input.clone(),
            };
            let sig = self.key.sign_transaction_sync(&mut tx)?;
            let signed = tx.into_signed(sig);
            let hash = *signed.hash();
            let raw = TxEnvelope::from(signed).encoded_2718();
            if !hashes.contains(&hash) {
                sqlx::query!(
                    "INSERT INTO relayer_txs (chain_id, address, nonce, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, purpose)
                     VALUES ($1, $2, $3, $4, $5::text::numeric, $6::text::numeric, $7)",
                    self.chain_id as i64,
                    addr.as_slice(),
                    nonce as i64,
                    hash.as_slice(),
                    max_fee.to_string(),
                    prio.to_string(),
                    purpose,
                )
                .execute(&self.db)
                .await?;
                hashes.push(hash);
            }
            attempts += 1;
            if let Err(e) = self.provider.send_raw_transaction(&raw).await {
                tracing::debug!(%hash, nonce, error = %e, "broadcast refused (may be known already)");
            } else {
                tracing::debug!(%hash, nonce, max_fee, prio, "broadcast");
            }
            let deadline = Instant::now() + self.policy.bump_after;
            loop {
                if let Some(r) = self.settle_if_mined(nonce, &hashes, &mut next).await? {
                    return Ok(r);
                }
                if Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            let mined = self
                .provider
                .get_transaction_count(addr)
                .latest()
                .await
                .map_err(RelayerError::rpc("eth_getTransactionCount"))?;
            if mined > nonce {
                // Something else used the nonce (or our receipt just appeared): look once more.
                if let Some(r) = self.settle_if_mined(nonce, &hashes, &mut next).await? {
                    return Ok(r);
                }
                *next = mined;
                self.persist(mined).await?;
                self.reconcile_below(mined).await?;
                return Err(RelayerError::Tx(format!(
                    "nonce {nonce} was used by another transaction"
                )));
            }
            if attempts >= self.policy.max_attempts {
                return Err(RelayerError::Tx(format!(
                    "nonce {nonce} not mined after {attempts} broadcasts"
                )));
            }
            let est = self
                .provider
                .estimate_eip1559_fees()
                .await
                .map_err(RelayerError::rpc("eth_feeHistory"))?;
            let (old_fee, old_prio) = (max_fee, prio);
            max_fee = bump(max_fee, self.policy.bump_percent).max(est.max_fee_per_gas);
            prio = bump(prio, self.policy.bump_percent).max(est.max_priority_fee_per_gas);
            tracing::info!(
                nonce,
                old_fee,
                new_fee = max_fee.min(self.policy.max_fee_cap),
                old_prio,
                "replacing stuck transaction"
            );
        }
    }
}
