//! From home-chain events to the next batch, deterministically.
//!
//! Every honest daemon must derive the same bytes for a sequence, whatever its view of the head,
//! so the window a batch covers depends only on the previous `toCursor`, the finalized chain and
//! three protocol parameters shared by all daemons ([`PlanParams`]):
//!
//! 1. The window starts right after the previous `toCursor` (at `start_block` for a fresh Lite).
//! 2. It ends at the first multiple `B` of `epoch_blocks` that is at or after the first block
//!    holding a relevant event, or at the first multiple of `heartbeat_blocks` (a heartbeat
//!    batch with no update), whichever comes first. Nothing is planned until `B` is final.
//! 3. Events in `(fromCursor, B]` are folded last-write-wins per record. If more than
//!    `max_updates` distinct records would be written, the batch is cut just before the event
//!    introducing record `max_updates + 1` and `toCursor` is the cursor of the last event taken.
//! 4. Updates are sorted by cursor; `homeTimestamp` is the timestamp of the home block of
//!    `toCursor`.
//!
//! Identity updates carry the whole record, so events other than `IdentityRegistered` need the
//! record before the window: it is read with `identityOf` at the block before the window's first
//! block and the window's first block's earlier events are replayed on it (exact for partial
//! blocks too). `IdentityMetadataUpdated` is not mirrored and is ignored.

use crate::{
    RelayerError, RelayerResult,
    batch::{LiteKind, RecordKey, Update, WHOLE_BLOCK, cursor, cursor_block},
};
use alloy::{
    eips::BlockId,
    primitives::{Address, B256, aliases::U96},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol_types::SolEventInterface,
};
use pact_bindings::{
    did_registry::DIDRegistry::DIDRegistryEvents,
    identity_registry::IdentityRegistry::{self, IdentityRegistryEvents},
    identity_status::Status,
    stake_registry::StakeRegistry::StakeRegistryEvents,
};
use std::collections::{BTreeMap, HashMap};

/// Protocol parameters of the batch planner; every daemon must use the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanParams {
    /// Batches end on multiples of this many blocks (>= 1).
    pub epoch_blocks: u64,
    /// A heartbeat batch ends on every multiple of this many blocks without events (0: none).
    /// Must be a multiple of `epoch_blocks`.
    pub heartbeat_blocks: u64,
    /// At most this many updates per batch (100 keeps every batch under 5M gas).
    pub max_updates: usize,
    /// Largest `eth_getLogs` range while searching for the window's end.
    pub scan_blocks: u64,
}

impl Default for PlanParams {
    fn default() -> Self {
        Self {
            epoch_blocks: 1,
            heartbeat_blocks: 0,
            max_updates: 100,
            scan_blocks: 10_000,
        }
    }
}

/// The next batch's content, before sequence and signer set are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Previous `toCursor`.
    pub from_cursor: u64,
    /// Last cursor covered.
    pub to_cursor: u64,
    /// Timestamp of the home block of `to_cursor`.
    pub home_timestamp: u64,
    /// Folded, sorted updates.
    pub updates: Vec<Update>,
}

/// Plans batches for one Lite from its home registry.
#[derive(Debug, Clone)]
pub struct Planner {
    /// Home chain provider.
    pub home: DynProvider,
    /// Which Lite.
    pub kind: LiteKind,
    /// The home registry feeding it.
    pub source: Address,
    /// First home block to read (the registry's deploy block).
    pub start_block: u64,
    /// Shared parameters.
    pub params: PlanParams,
}

fn round_up(x: u64, m: u64) -> u64 {
    x.div_ceil(m) * m
}

fn log_cursor(log: &Log) -> RelayerResult<u64> {
    let (Some(b), Some(i)) = (log.block_number, log.log_index) else {
        return Err(RelayerError::Home(
            "log without block number or index".into(),
        ));
    };
    Ok(cursor(b, i))
}

/// One decoded home event relevant to a Lite.
#[derive(Debug, Clone)]
enum HomeEvent {
    Bond {
        id: B256,
        amount: U96,
        unbonding: U96,
    },
    Registered {
        id: B256,
        owner: Address,
        wallet: Address,
        entity_type: u8,
    },
    Wallet {
        id: B256,
        wallet: Address,
    },
    Status {
        id: B256,
        status: u8,
    },
    AttrSet {
        did: Address,
        name: B256,
        value: B256,
        valid_to: u64,
        value_info: u8,
    },
    AttrRemoved {
        did: Address,
        name: B256,
    },
}

impl HomeEvent {
    fn key(&self) -> RecordKey {
        match self {
            HomeEvent::Bond { id, .. }
            | HomeEvent::Registered { id, .. }
            | HomeEvent::Wallet { id, .. }
            | HomeEvent::Status { id, .. } => RecordKey::Id(*id),
            HomeEvent::AttrSet { did, name, .. } | HomeEvent::AttrRemoved { did, name } => {
                RecordKey::Attribute(*did, *name)
            }
        }
    }
}

fn decode(kind: LiteKind, log: &Log) -> Option<HomeEvent> {
    match kind {
        LiteKind::Staking => match StakeRegistryEvents::decode_log(&log.inner).ok()?.data {
            StakeRegistryEvents::Bonded(e) => Some((e.id, e.amount, e.unbonding)),
            StakeRegistryEvents::UnbondRequested(e) => Some((e.id, e.amount, e.unbonding)),
            StakeRegistryEvents::Withdrawn(e) => Some((e.id, e.amount, e.unbonding)),
            StakeRegistryEvents::Slashed(e) => Some((e.id, e.amount, e.unbonding)),
            _ => None,
        }
        .map(|(id, amount, unbonding)| HomeEvent::Bond {
            id,
            amount,
            unbonding,
        }),
        LiteKind::Identity => match IdentityRegistryEvents::decode_log(&log.inner).ok()?.data {
            IdentityRegistryEvents::IdentityRegistered(e) => Some(HomeEvent::Registered {
                id: e.id,
                owner: e.owner,
                wallet: e.wallet,
                entity_type: e.entityType,
            }),
            IdentityRegistryEvents::IdentityWalletChanged(e) => Some(HomeEvent::Wallet {
                id: e.id,
                wallet: e.newWallet,
            }),
            IdentityRegistryEvents::IdentitySuspended(e) => Some(HomeEvent::Status {
                id: e.id,
                status: Status::SUSPENDED.into(),
            }),
            IdentityRegistryEvents::IdentityReinstated(e) => Some(HomeEvent::Status {
                id: e.id,
                status: Status::ACTIVE.into(),
            }),
            IdentityRegistryEvents::IdentityRevoked(e) => Some(HomeEvent::Status {
                id: e.id,
                status: Status::REVOKED.into(),
            }),
            _ => None,
        },
        LiteKind::Did => match DIDRegistryEvents::decode_log(&log.inner).ok()?.data {
            DIDRegistryEvents::DIDAttributeSet(e) => Some(HomeEvent::AttrSet {
                did: e.did,
                name: e.name,
                value: e.stored,
                valid_to: e.validTo,
                value_info: e.valueInfo,
            }),
            DIDRegistryEvents::DIDAttributeRemoved(e) => Some(HomeEvent::AttrRemoved {
                did: e.did,
                name: e.name,
            }),
        },
    }
}

/// The mirrored part of an identity.
#[derive(Debug, Clone, Copy, Default)]
struct IdState {
    owner: Address,
    wallet: Address,
    entity_type: u8,
    status: u8,
}

impl IdState {
    fn apply(&mut self, ev: &HomeEvent) {
        match ev {
            HomeEvent::Registered {
                owner,
                wallet,
                entity_type,
                ..
            } => {
                *self = IdState {
                    owner: *owner,
                    wallet: *wallet,
                    entity_type: *entity_type,
                    status: Status::ACTIVE.into(),
                }
            }
            HomeEvent::Wallet { wallet, .. } => self.wallet = *wallet,
            HomeEvent::Status { status, .. } => self.status = *status,
            _ => {}
        }
    }
}

impl Planner {
    /// Relevant events in `[from, to]`, ascending by cursor.
    async fn events(&self, from: u64, to: u64) -> RelayerResult<Vec<(u64, HomeEvent)>> {
        let filter = Filter::new()
            .address(self.source)
            .from_block(from)
            .to_block(to);
        let logs = self
            .home
            .get_logs(&filter)
            .await
            .map_err(RelayerError::rpc("eth_getLogs"))?;
        let mut out = Vec::with_capacity(logs.len());
        for log in &logs {
            if log.removed {
                continue;
            }
            if let Some(ev) = decode(self.kind, log) {
                out.push((log_cursor(log)?, ev));
            }
        }
        out.sort_by_key(|(c, _)| *c);
        Ok(out)
    }

    /// Plans the batch after `from_cursor`, or `None` if its window is not final yet.
    #[tracing::instrument(skip_all, fields(kind = ?self.kind, from_cursor, finalized), err)]
    pub async fn plan(&self, from_cursor: u64, finalized: u64) -> RelayerResult<Option<Plan>> {
        let p = self.params;
        if p.epoch_blocks == 0
            || (p.heartbeat_blocks != 0 && !p.heartbeat_blocks.is_multiple_of(p.epoch_blocks))
        {
            return Err(RelayerError::Config(
                "heartbeat_blocks must be a multiple of epoch_blocks >= 1".into(),
            ));
        }
        // First block not wholly covered.
        let first = if from_cursor == 0 {
            self.start_block
        } else if from_cursor & WHOLE_BLOCK == WHOLE_BLOCK {
            cursor_block(from_cursor) + 1
        } else {
            cursor_block(from_cursor)
        }
        .max(self.start_block);
        if first > finalized {
            return Ok(None);
        }
        let heartbeat =
            (p.heartbeat_blocks != 0).then(|| round_up(first.max(1), p.heartbeat_blocks));
        // Find the window's end.
        let mut lo = first;
        let end = loop {
            if lo > finalized {
                return Ok(None);
            }
            let hi = finalized.min(lo + p.scan_blocks.max(1) - 1);
            let evs = self.events(lo, hi).await?;
            let first_ev = evs
                .iter()
                .find(|(c, _)| *c > from_cursor)
                .map(|(c, _)| cursor_block(*c));
            let by_event = first_ev.map(|b| round_up(b.max(1), p.epoch_blocks));
            let cand = match (by_event, heartbeat) {
                (Some(a), Some(h)) => Some(a.min(h)),
                (Some(a), None) => Some(a),
                (None, Some(h)) if h <= hi => Some(h),
                _ => None,
            };
            if let Some(end) = cand {
                break end;
            }
            lo = hi + 1;
        };
        if end > finalized {
            return Ok(None);
        }
        let all = self.events(first, end).await?;
        let split = all.partition_point(|(c, _)| *c <= from_cursor);
        let (before, window) = all.split_at(split);

        let mut updates: BTreeMap<RecordKey, Update> = BTreeMap::new();
        let mut identities: HashMap<B256, IdState> = HashMap::new();
        let mut to_cursor = cursor(end, WHOLE_BLOCK);
        let mut last_taken = from_cursor;
        for (c, ev) in window {
            let key = ev.key();
            if !updates.contains_key(&key) && updates.len() >= p.max_updates {
                to_cursor = last_taken;
                break;
            }
            let update = match ev {
                HomeEvent::Bond {
                    id,
                    amount,
                    unbonding,
                } => Update::SetBond {
                    cursor: *c,
                    id: *id,
                    amount: *amount,
                    unbonding: *unbonding,
                },
                HomeEvent::AttrSet {
                    did,
                    name,
                    value,
                    valid_to,
                    value_info,
                } => Update::SetAttribute {
                    cursor: *c,
                    did: *did,
                    name: *name,
                    value: *value,
                    valid_to: *valid_to,
                    value_info: *value_info,
                },
                HomeEvent::AttrRemoved { did, name } => Update::RemoveAttribute {
                    cursor: *c,
                    did: *did,
                    name: *name,
                },
                HomeEvent::Registered { id, .. }
                | HomeEvent::Wallet { id, .. }
                | HomeEvent::Status { id, .. } => {
                    if !identities.contains_key(id) {
                        let base = if matches!(ev, HomeEvent::Registered { .. }) {
                            IdState::default()
                        } else {
                            self.identity_before(*id, first, before).await?
                        };
                        identities.insert(*id, base);
                    }
                    let st = identities.get_mut(id).expect("inserted above");
                    st.apply(ev);
                    Update::SetIdentity {
                        cursor: *c,
                        id: *id,
                        owner: st.owner,
                        wallet: st.wallet,
                        entity_type: st.entity_type,
                        status: st.status,
                    }
                }
            };
            updates.insert(key, update);
            last_taken = *c;
        }
        let mut updates: Vec<Update> = updates.into_values().collect();
        updates.sort_by_key(Update::cursor);
        let block = self
            .home
            .get_block_by_number(cursor_block(to_cursor).into())
            .await
            .map_err(RelayerError::rpc("eth_getBlockByNumber"))?
            .ok_or_else(|| {
                RelayerError::Home(format!("home block {} missing", cursor_block(to_cursor)))
            })?;
        Ok(Some(Plan {
            from_cursor,
            to_cursor,
            home_timestamp: block.header.timestamp,
            updates,
        }))
    }

    /// The identity `id` just before the window: `identityOf` at the block before `first`, plus the
    /// events of block `first` already covered by earlier batches.
    async fn identity_before(
        &self,
        id: B256,
        first: u64,
        covered_in_first_block: &[(u64, HomeEvent)],
    ) -> RelayerResult<IdState> {
        let mut st = if first > self.start_block {
            let reg = IdentityRegistry::new(self.source, self.home.clone());
            let rec = reg
                .identityOf(id)
                .block(BlockId::number(first - 1))
                .call()
                .await
                .map_err(RelayerError::contract("identityOf"))?;
            IdState {
                owner: rec.owner,
                wallet: rec.wallet,
                entity_type: rec.entityType,
                status: rec.status,
            }
        } else {
            IdState::default()
        };
        for (_, ev) in covered_in_first_block {
            if ev.key() == RecordKey::Id(id) {
                st.apply(ev);
            }
        }
        Ok(st)
    }
}
