//! The relayer: one queue per (satellite chain, Lite). Reads the on-chain watermark, gathers the
//! published signatures for the next sequence, verifies each locally (recomputed digest, `v`,
//! low `s`, recovered signer = claimed signer, member of the current set), takes exactly
//! `threshold` of them sorted by signer, simulates with `eth_call` and submits. A sequence that
//! moved past counts as success, so several relayers may run at once.

use crate::{
    RelayerError, RelayerResult,
    batch::{Batch, LiteKind, concat_sorted, recover},
    lite::LiteAt,
    store::{self, LiteId},
    tx::TxSender,
};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, keccak256},
    providers::{DynProvider, Provider},
    sol_types::SolCall,
};
use pact_bindings::staking_lite::StakingLite::{self, StakingLiteErrors};
use sqlx::PgPool;
use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Duration,
};

/// One Lite a relayer serves.
#[derive(Debug, Clone)]
pub struct RelayTarget {
    /// Which Lite.
    pub kind: LiteKind,
    /// Satellite chain id.
    pub chain_id: u64,
    /// Lite address.
    pub lite: Address,
    /// Satellite provider.
    pub provider: DynProvider,
    /// The sender for this chain (shared by every Lite of the chain and the keeper).
    pub sender: Arc<TxSender>,
}

/// What one relay step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Landed `sequence` (gas used).
    Landed {
        /// Sequence landed.
        sequence: u64,
        /// Gas used by the transaction.
        gas_used: u64,
        /// Updates in the batch.
        count: u32,
    },
    /// Someone else landed it first.
    AlreadyApplied,
    /// Not enough valid signatures yet.
    NoQuorum,
    /// The Lite is paused for good.
    Paused,
}

/// A relayer queue for one Lite.
#[derive(Debug)]
pub struct Relayer {
    db: PgPool,
    t: RelayTarget,
    alerted: HashSet<(u64, u64, Address, B256)>,
}

impl Relayer {
    /// A relayer for `t`.
    pub fn new(db: PgPool, t: RelayTarget) -> Self {
        Self {
            db,
            t,
            alerted: HashSet::new(),
        }
    }

    async fn alert_once(
        &mut self,
        key: (u64, u64, Address, B256),
        kind: &str,
        detail: serde_json::Value,
    ) {
        if self.alerted.insert(key) {
            store::alert(&self.db, self.t.chain_id, Some(self.t.lite), kind, detail).await;
        }
    }

    /// Runs until dropped.
    pub async fn run(mut self, poll: Duration) -> RelayerResult<()> {
        tracing::info!(lite = %self.t.lite, chain_id = self.t.chain_id, kind = ?self.t.kind, "relayer started");
        loop {
            match self.step().await {
                Ok(StepOutcome::Landed { .. } | StepOutcome::AlreadyApplied) => {}
                Ok(StepOutcome::NoQuorum) => tokio::time::sleep(poll).await,
                Ok(StepOutcome::Paused) => tokio::time::sleep(poll * 100).await,
                Err(e) => {
                    tracing::warn!(lite = %self.t.lite, error = &e as &dyn std::error::Error, "relay step failed");
                    tokio::time::sleep(poll * 4).await;
                }
            }
        }
    }

    /// Tries to land the next sequence once.
    #[tracing::instrument(skip_all, fields(lite = %self.t.lite, chain_id = self.t.chain_id), err)]
    pub async fn step(&mut self) -> RelayerResult<StepOutcome> {
        let t = self.t.clone();
        // One consistent view (a rotation may land between calls).
        let view = LiteAt::latest(t.provider.clone(), t.lite).await?;
        if view.paused().await? {
            return Ok(StepOutcome::Paused);
        }
        let wm = view.watermark().await?;
        let (set_id, next) = (wm.signerSetId, wm.lastSequence + 1);
        let members: HashSet<Address> = view.signers().await?.into_iter().collect();
        let threshold = view.threshold().await? as usize;
        let lite = view.contract();
        let rows = store::signatures_for(
            &self.db,
            LiteId {
                chain_id: t.chain_id,
                lite: t.lite,
            },
            set_id,
            next,
        )
        .await?;

        // Group valid signatures by (locally recomputed) digest.
        let mut by_digest: BTreeMap<B256, (Batch, Vec<(Address, [u8; 65])>)> = BTreeMap::new();
        for row in rows {
            let digest = row.batch.header.digest(t.kind, t.chain_id, t.lite);
            let key = (set_id, next, row.signer, row.digest);
            if digest != row.digest || keccak256(&row.batch.packed) != row.batch.header.updates_hash
            {
                self.alert_once(key, "batch_mismatch", serde_json::json!({
                    "sequence": next, "signer": row.signer.to_string(), "claimed_digest": row.digest.to_string(),
                    "computed_digest": digest.to_string()
                }))
                .await;
                continue;
            }
            match recover(&row.signature, digest) {
                Ok(a) if a == row.signer && members.contains(&a) => {
                    let sig: [u8; 65] = row
                        .signature
                        .as_ref()
                        .try_into()
                        .expect("recover checked the length");
                    by_digest
                        .entry(digest)
                        .or_insert_with(|| (row.batch.clone(), Vec::new()))
                        .1
                        .push((a, sig));
                }
                other => {
                    self.alert_once(key, "invalid_signature", serde_json::json!({
                        "sequence": next, "signer": row.signer.to_string(), "digest": digest.to_string(),
                        "recovered": format!("{other:?}")
                    }))
                    .await;
                }
            }
        }
        // A signer with valid signatures on two digests for this (sequence, set) equivocated:
        // report it on chain, which pauses the Lite for good.
        if let Some(outcome) = self.report_equivocation(lite, next, &by_digest).await? {
            return Ok(outcome);
        }
        if by_digest.len() > 1 {
            let digests: Vec<String> = by_digest.keys().map(|d| d.to_string()).collect();
            self.alert_once((set_id, next, Address::ZERO, B256::ZERO), "conflicting_digests", serde_json::json!({
                "sequence": next, "digests": digests,
                "signers": by_digest.values().map(|(_, s)| s.iter().map(|(a, _)| a.to_string()).collect::<Vec<_>>()).collect::<Vec<_>>()
            }))
            .await;
        }
        let Some((batch, mut sigs)) = by_digest.into_values().find(|(_, s)| s.len() >= threshold)
        else {
            return Ok(StepOutcome::NoQuorum);
        };
        sigs.sort_by_key(|(a, _)| *a);
        sigs.truncate(threshold);
        let signatures = concat_sorted(sigs);
        let header: pact_bindings::staking_lite::ILiteBase::BatchHeader = batch.header.into();
        let call = StakingLite::applyBatchCall {
            header: header.clone(),
            packedUpdates: batch.packed.clone(),
            signatures: signatures.clone(),
        };
        // Simulate.
        if let Err(e) = lite
            .applyBatch(header, batch.packed.clone(), signatures)
            .call()
            .await
        {
            return self.on_revert(lite, next, e).await;
        }
        let input: Bytes = call.abi_encode().into();
        let receipt = match t
            .sender
            .send(t.lite, input, &format!("applyBatch:{}:{next}", t.lite))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // Whatever happened, the watermark tells whether the batch is in.
                if applied(lite, next).await? {
                    return Ok(StepOutcome::AlreadyApplied);
                }
                return Err(e);
            }
        };
        if receipt.status() {
            tracing::info!(
                sequence = next,
                gas = receipt.gas_used,
                count = batch.header.count,
                "batch landed"
            );
            Ok(StepOutcome::Landed {
                sequence: next,
                gas_used: receipt.gas_used,
                count: batch.header.count,
            })
        } else {
            if applied(lite, next).await? {
                return Ok(StepOutcome::AlreadyApplied);
            }
            Err(RelayerError::Tx(format!(
                "applyBatch {next} reverted in {}",
                receipt.transaction_hash
            )))
        }
    }

    async fn report_equivocation(
        &mut self,
        lite: &StakingLite::StakingLiteInstance<DynProvider>,
        next: u64,
        by_digest: &BTreeMap<B256, (Batch, Vec<(Address, [u8; 65])>)>,
    ) -> RelayerResult<Option<StepOutcome>> {
        let entries: Vec<(&Batch, Address, &[u8; 65])> = by_digest
            .values()
            .flat_map(|(b, sigs)| sigs.iter().map(move |(a, s)| (b, *a, s)))
            .collect();
        for (i, (ba, signer, sa)) in entries.iter().enumerate() {
            let Some((bb, _, sb)) = entries[i + 1..]
                .iter()
                .find(|(bb, a, _)| a == signer && bb.header != ba.header)
            else {
                continue;
            };
            let call = StakingLite::reportEquivocationCall {
                a: ba.header.into(),
                signatureA: Bytes::copy_from_slice(&sa[..]),
                b: bb.header.into(),
                signatureB: Bytes::copy_from_slice(&sb[..]),
            };
            let detail = serde_json::json!({ "sequence": next, "signer": signer.to_string() });
            if let Err(e) = lite
                .provider()
                .call(
                    alloy::rpc::types::TransactionRequest::default()
                        .to(self.t.lite)
                        .input(call.abi_encode().into()),
                )
                .await
            {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "equivocation report would revert"
                );
                continue;
            }
            let receipt = self
                .t
                .sender
                .send(
                    self.t.lite,
                    call.abi_encode().into(),
                    &format!("reportEquivocation:{}:{next}", self.t.lite),
                )
                .await?;
            self.alert_once((0, next, *signer, B256::with_last_byte(2)), "equivocation_reported", serde_json::json!({
                "detail": detail, "tx": receipt.transaction_hash.to_string(), "status": receipt.status()
            }))
            .await;
            return Ok(Some(StepOutcome::Paused));
        }
        Ok(None)
    }

    async fn on_revert(
        &mut self,
        lite: &StakingLite::StakingLiteInstance<DynProvider>,
        next: u64,
        e: alloy::contract::Error,
    ) -> RelayerResult<StepOutcome> {
        let decoded = e.as_decoded_interface_error::<StakingLiteErrors>();
        match decoded {
            Some(StakingLiteErrors::LiteSequenceMismatch(m)) if m.expected > next => {
                Ok(StepOutcome::AlreadyApplied)
            }
            Some(StakingLiteErrors::LitePaused(_)) => Ok(StepOutcome::Paused),
            other => {
                if applied(lite, next).await? {
                    return Ok(StepOutcome::AlreadyApplied);
                }
                self.alert_once(
                    (0, next, Address::ZERO, B256::with_last_byte(1)),
                    "simulation_reverted",
                    serde_json::json!({
                        "sequence": next, "error": format!("{other:?}"), "raw": e.to_string()
                    }),
                )
                .await;
                Ok(StepOutcome::NoQuorum)
            }
        }
    }
}

/// Whether the Lite's latest watermark already covers sequence `next` (another relayer, or an
/// earlier attempt of ours, landed it).
async fn applied(
    lite: &StakingLite::StakingLiteInstance<DynProvider>,
    next: u64,
) -> RelayerResult<bool> {
    let wm = LiteAt::new(lite.provider().clone(), *lite.address(), BlockId::latest())
        .watermark()
        .await?;
    Ok(wm.lastSequence >= next)
}
