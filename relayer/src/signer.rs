//! The signer daemon: one per key. For every (satellite chain, Lite) it follows the home chain's
//! final blocks, plans the next batches ([`crate::home`]), signs their EIP-712 digests and
//! publishes them in `relayer_signatures`, never signing two digests for one
//! (chain, Lite, signer set, sequence).

use crate::{
    RelayerError, RelayerResult,
    batch::{Batch, LiteKind, sign_digest},
    home::{PlanParams, Planner},
    lite::LiteAt,
    store::{self, LiteId, SignOutcome},
};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::Address,
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use sqlx::PgPool;
use std::time::Duration;

/// How the daemon decides a home block is final: `head - n` (anvil, local chains) or the node's
/// `finalized` tag.
pub use pact_bindings::Finality;

/// One Lite a daemon signs for.
#[derive(Debug, Clone)]
pub struct LiteTarget {
    /// Which Lite.
    pub kind: LiteKind,
    /// Satellite chain id (the EIP-712 domain chain id).
    pub chain_id: u64,
    /// Lite address.
    pub lite: Address,
    /// Satellite provider (reads the watermark and signer set).
    pub satellite: DynProvider,
    /// The home registry that feeds it.
    pub source: Address,
    /// The registry's deploy block.
    pub start_block: u64,
}

/// A planned signer rotation: at `sequence` of every Lite whose current set is `from_set_id`,
/// the daemons sign the rotation batch instead of a batch of updates. Every daemon of the set
/// must be given the same rotation, for a sequence none of them signed yet (beyond the
/// pipeline); daemons do not pipeline past a pending rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Signer set the rotation replaces.
    pub from_set_id: u64,
    /// Lite sequence of the rotation batch.
    pub sequence: u64,
    /// New threshold.
    pub threshold: u8,
    /// New signers.
    pub signers: Vec<Address>,
}

impl Rotation {
    /// Parses `<from_set_id>:<sequence>:<threshold>:<addr>,<addr>,...`.
    pub fn parse(s: &str) -> RelayerResult<Self> {
        let bad = || {
            RelayerError::Config(format!(
                "--rotation {s:?}: want <set>:<sequence>:<threshold>:<a,b,..>"
            ))
        };
        let mut it = s.splitn(4, ':');
        let (Some(set), Some(seq), Some(t), Some(list)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        Ok(Self {
            from_set_id: set.parse().map_err(|_| bad())?,
            sequence: seq.parse().map_err(|_| bad())?,
            threshold: t.parse().map_err(|_| bad())?,
            signers: list
                .split(',')
                .map(|a| a.trim().parse().map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Settings of a signer daemon.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    /// Home chain provider.
    pub home: DynProvider,
    /// Home chain id (`sourceChainId`).
    pub home_chain_id: u64,
    /// Finality rule.
    pub finality: Finality,
    /// Batch planning parameters (identical on every daemon).
    pub params: PlanParams,
    /// Sign at most this many sequences ahead of the Lite's watermark.
    pub pipeline: u64,
    /// Idle polling interval.
    pub poll: Duration,
    /// A planned signer rotation, if any.
    pub rotation: Option<Rotation>,
}

/// Finalized home block under `finality`.
pub async fn finalized_block(home: &DynProvider, finality: Finality) -> RelayerResult<u64> {
    match finality {
        Finality::Confirmations(n) => Ok(home
            .get_block_number()
            .await
            .map_err(RelayerError::rpc("eth_blockNumber"))?
            .saturating_sub(n)),
        Finality::Finalized => Ok(home
            .get_block_by_number(BlockNumberOrTag::Finalized)
            .await
            .map_err(RelayerError::rpc("eth_getBlockByNumber"))?
            .map(|b| b.header.number)
            .unwrap_or(0)),
    }
}

/// Runs the daemon for every target until the task is dropped.
pub async fn run(
    db: PgPool,
    key: PrivateKeySigner,
    cfg: SignerConfig,
    targets: Vec<LiteTarget>,
) -> RelayerResult<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for t in targets {
        let (db, key, cfg) = (db.clone(), key.clone(), cfg.clone());
        tasks.spawn(async move { run_one(db, key, cfg, t).await });
    }
    while let Some(res) = tasks.join_next().await {
        res??;
    }
    Ok(())
}

/// Runs the daemon for one Lite.
pub async fn run_one(
    db: PgPool,
    key: PrivateKeySigner,
    cfg: SignerConfig,
    t: LiteTarget,
) -> RelayerResult<()> {
    let me = key.address();
    tracing::info!(signer = %me, lite = %t.lite, chain_id = t.chain_id, kind = ?t.kind, "signer started");
    loop {
        match step(&db, &key, &cfg, &t).await {
            Ok(0) => tokio::time::sleep(cfg.poll).await,
            Ok(_) => {}
            Err(e @ RelayerError::Equivocation { .. }) => {
                store::alert(
                    &db,
                    t.chain_id,
                    Some(t.lite),
                    "equivocation_refused",
                    serde_json::json!({
                        "signer": me.to_string(), "error": e.to_string()
                    }),
                )
                .await;
                tokio::time::sleep(cfg.poll * 20).await;
            }
            Err(e) => {
                tracing::warn!(signer = %me, lite = %t.lite, error = &e as &dyn std::error::Error, "signer step failed");
                tokio::time::sleep(cfg.poll * 4).await;
            }
        }
    }
}

/// One pass: signs every batch that can be signed now. Returns how many were newly signed.
#[tracing::instrument(skip_all, fields(signer = %key.address(), lite = %t.lite), err)]
pub async fn step(
    db: &PgPool,
    key: &PrivateKeySigner,
    cfg: &SignerConfig,
    t: &LiteTarget,
) -> RelayerResult<usize> {
    let me = key.address();
    let id = LiteId {
        chain_id: t.chain_id,
        lite: t.lite,
    };
    // Pause flag, membership and watermark at one satellite block (a consistent view even when a
    // rotation lands in between).
    let view = LiteAt::latest(t.satellite.clone(), t.lite).await?;
    if view.paused().await? || !view.is_signer(me).await? {
        return Ok(0);
    }
    let wm = view.watermark().await?;
    let set_id = wm.signerSetId;
    // The operator's rotation also says who is in the set it creates: a daemon it leaves out does
    // not sign for that set, whatever a node answered.
    if let Some(rot) = &cfg.rotation
        && set_id == rot.from_set_id + 1
        && !rot.signers.contains(&me)
    {
        return Ok(0);
    }
    // Continue from our own contiguous chain of signed batches above the watermark.
    let (mut seq, mut cursor, mut ts) = (wm.lastSequence, wm.lastCursor, wm.lastHomeTimestamp);
    for own in store::own_signed_after(db, id, set_id, me, seq).await? {
        if own.sequence == seq + 1 && own.from_cursor == cursor {
            (seq, cursor, ts) = (own.sequence, own.to_cursor, own.home_timestamp);
        } else {
            break;
        }
    }
    let planner = Planner {
        home: cfg.home.clone(),
        kind: t.kind,
        source: t.source,
        start_block: t.start_block,
        params: cfg.params,
    };
    let mut signed = 0;
    let rotation = cfg.rotation.as_ref().filter(|r| r.from_set_id == set_id);
    while seq - wm.lastSequence < cfg.pipeline {
        if let Some(rot) = rotation {
            if seq + 1 > rot.sequence {
                break; // do not pipeline past a pending rotation
            }
            if seq + 1 == rot.sequence {
                let update = crate::batch::Update::Rotate {
                    threshold: rot.threshold,
                    signers: rot.signers.clone(),
                };
                let batch = Batch::new(
                    cfg.home_chain_id,
                    set_id,
                    seq + 1,
                    cursor,
                    cursor,
                    ts,
                    &[update],
                );
                let digest = batch.header.digest(t.kind, t.chain_id, t.lite);
                if store::sign_once(db, id, &batch, digest, me, || sign_digest(key, digest)).await?
                    == SignOutcome::Signed
                {
                    signed += 1;
                    tracing::info!(sequence = seq + 1, %digest, "signed signer rotation");
                }
                break;
            }
        }
        let finalized = finalized_block(&cfg.home, cfg.finality).await?;
        let Some(plan) = planner.plan(cursor, finalized).await? else {
            break;
        };
        if plan.home_timestamp < ts {
            return Err(RelayerError::Home(format!(
                "home timestamp regressed: {} < {ts}",
                plan.home_timestamp
            )));
        }
        let batch = Batch::new(
            cfg.home_chain_id,
            set_id,
            seq + 1,
            plan.from_cursor,
            plan.to_cursor,
            plan.home_timestamp,
            &plan.updates,
        );
        let digest = batch.header.digest(t.kind, t.chain_id, t.lite);
        let outcome =
            store::sign_once(db, id, &batch, digest, me, || sign_digest(key, digest)).await?;
        if outcome == SignOutcome::Signed {
            signed += 1;
            tracing::info!(sequence = seq + 1, count = batch.header.count, to_cursor = plan.to_cursor, %digest, "signed batch");
        }
        (seq, cursor, ts) = (seq + 1, plan.to_cursor, plan.home_timestamp);
    }
    Ok(signed)
}
