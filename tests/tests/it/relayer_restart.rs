//! The relayer and a signer daemon killed with SIGKILL while a stream of identity and DID updates
//! flows from the home chain to the satellite's Lites (six signers, threshold 4, at most four
//! updates per batch so that busy blocks are cut into several batches, some mid-block):
//!
//! - kill 1: the relayer dies with its `applyBatch` broadcast and waiting in the satellite's pool
//!   (automine off) and restarts while it still waits (today it sends nothing more: its gas
//!   estimate runs against the pending state, where the orphan applied the batch, and reverts);
//!   then the node loses the orphan (`anvil_dropTransaction`) and the relayer sends the batch
//!   again at the same nonce, outbidding the stored attempt by the bump;
//! - kill 2: the same moment, but the orphan is mined while the relayer is down (its receipt never
//!   reaches the process that sent it);
//! - signer 2 dies after signing ahead of the Lite's watermark while the relayer is down, and
//!   restarts later;
//! - kill 3: the relayer restarts on the backlog and dies again as soon as one batch of it landed.
//!
//! At the end every Lite record equals the home registry's, with the cursor of its last home
//! event; every Lite sequence landed exactly once (one `BatchApplied` per sequence, no gap, and
//! the relayer's account sent exactly as many transactions as there are batches: no duplicate or
//! reverted `applyBatch`). Then the same home history is relayed again by a clean run (a fresh
//! satellite with the Lites at the same addresses, a fresh database, the same seven keys, no
//! kill), and the persisted tables are compared with it:
//!
//! - `relayer_batches`: equal row for row, every column but `created_at` (the batch plan is a
//!   function of the final home chain and the protocol parameters), and each row is the header
//!   that landed;
//! - `relayer_signatures`: one digest per (Lite, sequence), the one the Lite's `batchDigest`
//!   computes; every signature, in either run, is byte for byte the RFC 6979 signature of that
//!   digest by its signer, so rows both runs hold are equal; `created_at` is timing, and so is
//!   which signers beyond the threshold signed a sequence (a daemon skips sequences that landed
//!   while it was down);
//! - `relayer_nonces`: equal (`updated_at` excluded); the on-chain `BatchApplied` logs: equal;
//! - `relayer_alerts`: empty in both;
//! - `relayer_txs`: `id`, `tx_hash`, `nonce` (the Lites' queues interleave), the fees,
//!   `gas_used`, `created_at` and the number of attempts are timing; per landed batch exactly one
//!   attempt is on chain and marked `mined` in both runs, every other attempt `replaced` (also an
//!   attempt mined while its relayer was dead: `an_attempt_mined_while_the_relayer_is_down_is_recorded_as_mined`
//!   checks that alone).

use crate::stack::{
    OWNER, Opts, SIGNERS, Stack, THRESHOLD, in_pool, mine_one, mined, set_automine, table_rows,
};
use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use eyre::{Result, eyre};
use pact_bindings::{
    did_lite::DIDLite,
    did_registry::DIDRegistry,
    identity_lite::IdentityLite,
    identity_registry::IdentityRegistry,
    staking_lite::{ILiteBase, StakingLite},
};
use pact_testkit::AnvilApi;
use pact_testkit::{TestChain, TestDb};
use sqlx::PgPool;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

/// Planning flags every daemon of both runs gets (a protocol parameter).
const PLAN: [&str; 2] = ["--max-updates", "4"];

/// Home registries and satellite Lites of the scenario.
#[derive(Debug, Clone, Copy)]
struct Addrs {
    registry: Address,
    did_registry: Address,
    identity_lite: Address,
    did_lite: Address,
    staking_lite: Address,
}

fn addrs(s: &Stack) -> Result<Addrs> {
    let (home, sat) = (s.home_deployment_json()?, s.sat_deployment_json()?);
    let get = |v: &serde_json::Value, k: &str| -> Result<Address> {
        v[k].as_str()
            .ok_or_else(|| eyre!("no {k} in {v}"))?
            .parse()
            .map_err(|e| eyre!("{k}: {e}"))
    };
    Ok(Addrs {
        registry: get(&home, "identityRegistry")?,
        did_registry: get(&home, "didRegistry")?,
        identity_lite: get(&sat, "identityLite")?,
        did_lite: get(&sat, "didLite")?,
        staking_lite: get(&sat, "stakingLite")?,
    })
}

/// Drives the home registries and remembers what it expects them to hold.
struct Home {
    a: Addrs,
    /// Identity id → (owner account, status), in registration order.
    ids: Vec<(B256, usize, u8)>,
    /// DID attributes written: (account, name).
    attrs: BTreeSet<(usize, B256)>,
    counter: u64,
    /// Transactions sent and not yet checked.
    sent: Vec<B256>,
}

/// Enough gas for any registry call; set explicitly so that transactions of one block that
/// depend on each other are not estimated against the state before it.
const GAS: u64 = 400_000;

impl Home {
    fn new(a: Addrs) -> Self {
        Self {
            a,
            ids: Vec::new(),
            attrs: BTreeSet::new(),
            counter: 0,
            sent: Vec::new(),
        }
    }

    fn status(&mut self, id: B256) -> &mut (B256, usize, u8) {
        self.ids
            .iter_mut()
            .find(|(i, ..)| *i == id)
            .expect("a known id")
    }

    /// The new wallet's EIP-712 binding to `id` (a fresh wallet: nonce 0).
    async fn binding(
        &self,
        s: &Stack,
        id: B256,
        owner: Address,
        wallet: &PrivateKeySigner,
    ) -> Result<Bytes> {
        let reg = IdentityRegistry::new(self.a.registry, s.home.provider.clone());
        let digest = reg
            .walletBindingDigest(id, owner, wallet.address(), U256::ZERO, U256::MAX)
            .call()
            .await?;
        Ok(Bytes::from(
            wallet.sign_hash_sync(&digest)?.as_bytes().to_vec(),
        ))
    }

    async fn register(&mut self, s: &Stack, owner: usize) -> Result<B256> {
        self.counter += 1;
        let p = s.hp(owner);
        let reg = IdentityRegistry::new(self.a.registry, p.clone());
        let salt = keccak256(format!("identity {}", self.counter));
        let who = s.addr(owner);
        let id = reg.computeId(who, salt).call().await?;
        let wallet = PrivateKeySigner::random();
        let sig = self.binding(s, id, who, &wallet).await?;
        let kind = 1 + (self.counter % 2) as u8;
        let pending = reg
            .register(salt, kind, wallet.address(), B256::ZERO, U256::MAX, sig)
            .gas(GAS)
            .send()
            .await?;
        self.sent.push(*pending.tx_hash());
        self.ids.push((id, owner, 1));
        Ok(id)
    }

    async fn set_wallet(&mut self, s: &Stack, id: B256) -> Result<()> {
        let owner = self.status(id).1;
        let p = s.hp(owner);
        let wallet = PrivateKeySigner::random();
        let sig = self.binding(s, id, s.addr(owner), &wallet).await?;
        let pending = IdentityRegistry::new(self.a.registry, p)
            .setWallet(id, wallet.address(), U256::MAX, sig)
            .gas(GAS)
            .send()
            .await?;
        self.sent.push(*pending.tx_hash());
        Ok(())
    }

    /// The registry admin suspends (2) or reinstates (1) `id`; its owner revokes it (3).
    async fn set_status(&mut self, s: &Stack, id: B256, status: u8) -> Result<()> {
        let owner = self.status(id).1;
        let p = s.hp(if status == 3 { owner } else { OWNER });
        let reg = IdentityRegistry::new(self.a.registry, p);
        let pending = match status {
            1 => reg.reinstate(id).gas(GAS).send().await?,
            2 => reg.suspend(id).gas(GAS).send().await?,
            _ => reg.revoke(id).gas(GAS).send().await?,
        };
        self.sent.push(*pending.tx_hash());
        self.status(id).2 = status;
        Ok(())
    }

    async fn attr(&mut self, s: &Stack, account: usize, name: &str) -> Result<()> {
        self.counter += 1;
        let name = keccak256(name);
        // Short values are stored inline, long ones as their hash.
        let value = if self.counter.is_multiple_of(3) {
            format!(
                "a long value that does not fit in one word, number {}",
                self.counter
            )
        } else {
            format!("v{}", self.counter)
        };
        let pending = DIDRegistry::new(self.a.did_registry, s.hp(account))
            .setAttribute(name, Bytes::from(value.into_bytes()), 1_000_000)
            .gas(GAS)
            .send()
            .await?;
        self.sent.push(*pending.tx_hash());
        self.attrs.insert((account, name));
        Ok(())
    }

    /// Every transaction sent so far mined and succeeded.
    async fn settle(&mut self, s: &Stack) -> Result<()> {
        for h in std::mem::take(&mut self.sent) {
            mined(&s.home.provider, h).await?;
        }
        Ok(())
    }

    /// The ids registered before now that have `status`.
    fn with_status(&self, status: u8) -> Vec<B256> {
        self.ids
            .iter()
            .filter(|(.., st)| *st == status)
            .map(|(id, ..)| *id)
            .collect()
    }

    /// One home block holding many updates: four owners register (two re-wallet their new
    /// identity, one revokes it, all in the block), the admin suspends and reinstates one
    /// identity and suspends or reinstates another, and two DIDs write attributes (one twice).
    async fn busy_block(&mut self, s: &Stack) -> Result<()> {
        let (active, suspended) = (self.with_status(1), self.with_status(2));
        set_automine(&s.home, false).await?;
        for owner in 1..=4 {
            let id = self.register(s, owner).await?;
            if owner % 2 == 0 {
                self.set_wallet(s, id).await?;
            }
            if owner == 3 {
                self.set_status(s, id, 3).await?;
            }
        }
        if let Some(&id) = active.first() {
            self.set_status(s, id, 2).await?;
            self.set_status(s, id, 1).await?;
        }
        if let Some(&id) = suspended.first() {
            self.set_status(s, id, 1).await?;
        } else if let Some(&id) = active.get(1) {
            self.set_status(s, id, 2).await?;
        }
        if let Some(&id) = active.get(2) {
            self.set_wallet(s, id).await?;
        }
        let n = self.counter;
        self.attr(s, 5, &format!("name {}", n % 3)).await?;
        self.attr(s, 5, &format!("name {}", n % 3)).await?;
        self.attr(s, 6, "endpoint").await?;
        mine_one(&s.home).await?;
        set_automine(&s.home, true).await?;
        self.settle(s).await
    }
}

/// The cursor (`block << 32 | log index`) of the last log of `registry` (0 without any).
async fn last_cursor(s: &Stack, registry: Address) -> Result<u64> {
    let logs = s
        .home
        .provider
        .get_logs(&Filter::new().address(registry).from_block(0))
        .await?;
    Ok(logs.last().map_or(0, |l| {
        (l.block_number.unwrap_or_default() << 32) | l.log_index.unwrap_or_default()
    }))
}

async fn watermark(sat: &TestChain, lite: Address) -> Result<ILiteBase::Watermark> {
    Ok(StakingLite::new(lite, sat.provider.clone())
        .watermark()
        .call()
        .await?)
}

/// Makes every home update final (two confirmations) and waits until both Lites of `sat` cover
/// the last home event of their registry.
async fn covered(s: &Stack, sat: &TestChain, a: Addrs, what: &str) -> Result<()> {
    s.mine_home(3).await?;
    let want = [
        (a.identity_lite, last_cursor(s, a.registry).await?),
        (a.did_lite, last_cursor(s, a.did_registry).await?),
    ];
    s.wait(what, Duration::from_secs(40), || async move {
        for (lite, cursor) in want {
            if watermark(sat, lite).await.ok()?.lastCursor < cursor {
                return None;
            }
        }
        Some(())
    })
    .await
}

/// One broadcast attempt in `relayer_txs`.
#[derive(Debug, Clone)]
struct Attempt {
    id: i64,
    hash: B256,
    nonce: i64,
    purpose: String,
}

async fn attempts_after(pool: &PgPool, after: i64) -> Result<Vec<Attempt>> {
    let rows: Vec<(i64, Vec<u8>, i64, String)> = sqlx::query_as(
        "SELECT id, tx_hash, nonce, purpose FROM relayer_txs WHERE id > $1 ORDER BY id",
    )
    .bind(after)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, hash, nonce, purpose)| Attempt {
            id,
            hash: B256::from_slice(&hash),
            nonce,
            purpose,
        })
        .collect())
}

async fn last_attempt_id(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM relayer_txs")
            .fetch_one(pool)
            .await?,
    )
}

/// Waits for an `applyBatch` attempt after `after` that waits in `sat`'s pool.
async fn pending_apply(s: &Stack, sat: &TestChain, after: i64) -> Result<Attempt> {
    s.wait(
        "an applyBatch waiting in the satellite's pool",
        Duration::from_secs(30),
        || async move {
            for t in attempts_after(&s.pool, after).await.ok()?.into_iter().rev() {
                if t.purpose.starts_with("applyBatch:") && in_pool(sat, t.hash).await.ok()? {
                    return Some(t);
                }
            }
            None
        },
    )
    .await
}

/// `(lite, sequence)` of an `applyBatch:<lite>:<sequence>` purpose.
fn target(purpose: &str) -> Result<(Address, u64)> {
    let mut it = purpose.split(':').skip(1);
    let (Some(lite), Some(seq)) = (it.next(), it.next()) else {
        return Err(eyre!("purpose {purpose}"));
    };
    Ok((lite.parse()?, seq.parse()?))
}

/// Every `BatchApplied` of `lite` on `sat`: (sequence, signer set, from, to, home timestamp,
/// count, updates hash).
type Applied = (u64, u64, u64, u64, u64, u32, B256);

async fn batch_applied(sat: &TestChain, lite: Address) -> Result<Vec<Applied>> {
    let logs = sat
        .provider
        .get_logs(
            &Filter::new()
                .address(lite)
                .event_signature(StakingLite::BatchApplied::SIGNATURE_HASH)
                .from_block(0),
        )
        .await?;
    logs.iter()
        .map(|l| {
            let e = l.log_decode::<StakingLite::BatchApplied>()?.inner.data;
            Ok((
                e.sequence,
                e.signerSetId,
                e.fromCursor,
                e.toCursor,
                e.homeTimestamp,
                e.count,
                e.updatesHash,
            ))
        })
        .collect()
}

/// A stored batch: (lite, set, sequence) → (digest, header).
async fn batches(pool: &PgPool) -> Result<BTreeMap<(Address, u64, u64), (B256, Applied)>> {
    type Row = (
        Vec<u8>,
        i64,
        i64,
        Vec<u8>,
        i64,
        i64,
        i64,
        i32,
        Vec<u8>,
        Vec<u8>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT lite, signer_set_id, sequence, digest, from_cursor, to_cursor, home_timestamp,
                count, updates_hash, packed_updates FROM relayer_batches",
    )
    .fetch_all(pool)
    .await?;
    let mut out = BTreeMap::new();
    for (lite, set, seq, digest, from, to, ts, count, hash, packed) in rows {
        assert_eq!(keccak256(&packed).as_slice(), &hash[..], "updates hash");
        let key = (Address::from_slice(&lite), set as u64, seq as u64);
        let header = (
            seq as u64,
            set as u64,
            from as u64,
            to as u64,
            ts as u64,
            count as u32,
            B256::from_slice(&hash),
        );
        let prev = out.insert(key, (B256::from_slice(&digest), header));
        assert!(prev.is_none(), "two digests for {key:?}");
    }
    Ok(out)
}

/// Every published signature: (lite, set, sequence, signer) → (digest, signature).
async fn signatures(
    pool: &PgPool,
) -> Result<BTreeMap<(Address, u64, u64, Address), (B256, Vec<u8>)>> {
    let rows: Vec<(Vec<u8>, i64, i64, Vec<u8>, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT lite, signer_set_id, sequence, signer, digest, signature FROM relayer_signatures",
    )
    .fetch_all(pool)
    .await?;
    let mut out = BTreeMap::new();
    for (lite, set, seq, signer, digest, sig) in rows {
        let key = (
            Address::from_slice(&lite),
            set as u64,
            seq as u64,
            Address::from_slice(&signer),
        );
        let prev = out.insert(key, (B256::from_slice(&digest), sig));
        assert!(prev.is_none(), "two digests signed by one signer: {key:?}");
    }
    Ok(out)
}

/// Every broadcast attempt per (lite, sequence): (hash, status).
async fn attempts_by_batch(pool: &PgPool) -> Result<BTreeMap<(Address, u64), Vec<(B256, String)>>> {
    let rows: Vec<(String, Vec<u8>, String)> =
        sqlx::query_as("SELECT purpose, tx_hash, status FROM relayer_txs ORDER BY id")
            .fetch_all(pool)
            .await?;
    let mut out: BTreeMap<(Address, u64), Vec<(B256, String)>> = BTreeMap::new();
    for (purpose, hash, status) in rows {
        out.entry(target(&purpose)?)
            .or_default()
            .push((B256::from_slice(&hash), status));
    }
    Ok(out)
}

/// Checks the attempts of `pool` against `chain`: per landed batch exactly one attempt is mined
/// (and succeeded), no attempt is marked `mined` that is not; returns the attempts that are
/// mined on chain but not marked `mined` (stale rows).
async fn check_attempts(
    run: &str,
    pool: &PgPool,
    chain: &TestChain,
    landed: &BTreeSet<(Address, u64)>,
) -> Result<Vec<((Address, u64), B256, String)>> {
    let by = attempts_by_batch(pool).await?;
    let keys: BTreeSet<(Address, u64)> = by.keys().copied().collect();
    assert_eq!(
        &keys, landed,
        "{run}: attempts for every landed batch, nothing else"
    );
    let mut stale = Vec::new();
    for (k, atts) in &by {
        let mut on_chain = Vec::new();
        for (hash, status) in atts {
            match chain.provider.get_transaction_receipt(*hash).await? {
                Some(r) => {
                    assert!(r.status(), "{run}: {hash} of {k:?} reverted");
                    on_chain.push((*hash, status.clone()));
                }
                None => assert_ne!(status, "mined", "{run}: {hash} of {k:?} is not on chain"),
            }
        }
        assert_eq!(
            on_chain.len(),
            1,
            "{run}: one attempt of {k:?} mined: {atts:?}"
        );
        let (hash, status) = on_chain.remove(0);
        if status != "mined" {
            stale.push((*k, hash, status));
        }
    }
    Ok(stale)
}

/// The RFC 6979 signature the daemon with `key` publishes for `digest` (low s, v 27/28).
fn rfc6979(key: &PrivateKeySigner, digest: B256) -> Result<Vec<u8>> {
    let sig = key.sign_hash_sync(&digest)?;
    let sig = sig.normalize_s().unwrap_or(sig);
    Ok(sig.as_bytes().to_vec())
}

fn sat(s: &Stack) -> &TestChain {
    s.sat.as_ref().expect("a satellite")
}

#[tokio::test]
async fn relayer_and_signer_killed_mid_stream_land_every_batch_once() -> Result<()> {
    let started = Instant::now();
    let mut s = Stack::up(Opts {
        name: "relayer_restart",
        indexer: true,
        keeper: false,
        api: false,
        satellite: true,
        signers: 0,
        relay: true,
    })
    .await?;
    let sat_rpc = sat(&s).rpc_url();
    let url = s.db.url.clone();
    for i in 0..SIGNERS {
        s.start_signer_as(&format!("signer-{i}"), i, &url, &sat_rpc, &PLAN)?;
    }
    let a = addrs(&s)?;
    let mut h = Home::new(a);

    // Warm-up: single-update blocks, then a busy block; all of it lands.
    for owner in 1..=3 {
        h.register(&s, owner).await?;
    }
    h.attr(&s, 5, "name 0").await?;
    h.settle(&s).await?;
    h.busy_block(&s).await?;
    covered(&s, sat(&s), a, "the warm-up on the Lites").await?;

    // Kill 1: the relayer dies with its applyBatch waiting in the satellite's pool and restarts
    // while it still waits there. Today the new process sends nothing while the orphan waits (it
    // estimates gas against the pending state, where the orphan already applied the batch, and
    // the estimate reverts; see `keeper_restart::replacement_outcome`). Then the node loses the
    // orphan (dropped from its pool, as after a node restart): the relayer sends the batch again
    // at the same nonce, outbidding the stored attempt.
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(sat(&s), false).await?;
    let first = h.ids[0].0;
    h.set_wallet(&s, first).await?;
    h.settle(&s).await?;
    s.mine_home(3).await?;
    let orphan = pending_apply(&s, sat(&s), mark).await?;
    s.kill("relay")?;
    assert!(in_pool(sat(&s), orphan.hash).await?, "still waiting");
    s.start_relay_as("relay", &url, &sat_rpc, &[])?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let meanwhile = attempts_after(&s.pool, orphan.id).await?.len();
    eprintln!("kill 1: {meanwhile} new attempts in 0.8 s while the orphan waits in the pool");
    // (A no-op if the relayer already replaced it.)
    sat(&s).provider.anvil_drop_transaction(orphan.hash).await?;
    let replacement = s
        .wait(
            "the restarted relayer's new attempt at the same nonce",
            Duration::from_secs(30),
            || async {
                for r in attempts_after(&s.pool, orphan.id).await.ok()? {
                    if r.nonce == orphan.nonce && in_pool(sat(&s), r.hash).await.ok()? {
                        return Some(r);
                    }
                }
                None
            },
        )
        .await?;
    assert_eq!(
        (replacement.nonce, &replacement.purpose),
        (orphan.nonce, &orphan.purpose)
    );
    let fees: Vec<(String, String)> = sqlx::query_as(
        "SELECT max_fee_per_gas::text, max_priority_fee_per_gas::text FROM relayer_txs
         WHERE id IN ($1, $2) ORDER BY id",
    )
    .bind(orphan.id)
    .bind(replacement.id)
    .fetch_all(&s.pool)
    .await?;
    let fee = |i: usize, j: usize| -> u128 {
        let v = if j == 0 { &fees[i].0 } else { &fees[i].1 };
        v.parse().unwrap_or_default()
    };
    for j in 0..2 {
        assert!(
            fee(1, j) * 100 >= fee(0, j) * 115,
            "the new attempt outbids the stored one by the bump: {fees:?}"
        );
    }
    set_automine(sat(&s), true).await?;
    mine_one(sat(&s)).await?;
    let (lite, seq) = target(&orphan.purpose)?;
    s.wait(
        "the re-sent batch on the Lite",
        Duration::from_secs(20),
        || async { (watermark(sat(&s), lite).await.ok()?.lastSequence >= seq).then_some(()) },
    )
    .await?;
    let sp = &sat(&s).provider;
    assert!(
        sp.get_transaction_receipt(orphan.hash).await?.is_none(),
        "the lost attempt was never mined"
    );
    mined(sp, replacement.hash).await?;
    eprintln!(
        "kill 1: {} re-sent at nonce {}",
        orphan.purpose, orphan.nonce
    );

    // Kill 2: the same moment, but the orphan is mined while the relayer is down.
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(sat(&s), false).await?;
    let second = *h.with_status(1).last().expect("an active identity");
    h.set_status(&s, second, 2).await?;
    h.attr(&s, 6, "endpoint").await?;
    h.settle(&s).await?;
    s.mine_home(3).await?;
    let orphan = pending_apply(&s, sat(&s), mark).await?;
    s.kill("relay")?;
    set_automine(sat(&s), true).await?;
    mine_one(sat(&s)).await?;
    mined(&sat(&s).provider, orphan.hash).await?;
    eprintln!(
        "kill 2: {} mined while the relayer was down",
        orphan.purpose
    );

    // While the relayer is down, busy blocks pile up; the signers sign ahead (pipelined), and
    // signer 2 dies once it has signed two sequences past the Lite's watermark.
    for _ in 0..3 {
        h.busy_block(&s).await?;
    }
    s.mine_home(3).await?;
    let wm = watermark(sat(&s), a.identity_lite).await?.lastSequence;
    let signer2 = s.signer_keys[2].address();
    s.wait(
        "signer 2 two sequences ahead of the watermark",
        Duration::from_secs(30),
        || async {
            let top: Option<i64> = sqlx::query_scalar(
                "SELECT max(sequence) FROM relayer_signatures WHERE lite = $1 AND signer = $2",
            )
            .bind(a.identity_lite.as_slice())
            .bind(signer2.as_slice())
            .fetch_one(&s.pool)
            .await
            .ok()?;
            (top >= Some(wm as i64 + 2)).then_some(())
        },
    )
    .await?;
    s.kill("signer-2")?;

    // Kill 3: the relayer restarts on the backlog and dies again as soon as one batch of it
    // landed.
    let before = watermark(sat(&s), a.identity_lite).await?.lastSequence;
    s.start_relay_as("relay", &url, &sat_rpc, &[])?;
    let t = Instant::now();
    let killed_at = loop {
        let now = watermark(sat(&s), a.identity_lite).await?.lastSequence;
        if now > before {
            s.kill("relay")?;
            break now;
        }
        eyre::ensure!(
            t.elapsed() < Duration::from_secs(30),
            "the backlog never started landing"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let killed_at = killed_at.max(watermark(sat(&s), a.identity_lite).await?.lastSequence);
    // More updates while it is down; the relayer restarts and lands the backlog without signer 2.
    h.busy_block(&s).await?;
    let third = h.ids[2].0;
    h.set_wallet(&s, third).await?;
    h.settle(&s).await?;
    s.start_relay_as("relay", &url, &sat_rpc, &[])?;
    covered(&s, sat(&s), a, "the backlog on the Lites, signer 2 down").await?;
    let backlog = watermark(sat(&s), a.identity_lite).await?.lastSequence;
    assert!(
        killed_at < backlog,
        "kill 3 hit the middle of the backlog: {before} < {killed_at} < {backlog}"
    );
    eprintln!(
        "kill 3: relayer killed at sequence {killed_at} of a backlog from {before} to {backlog}; \
         {:.1} s so far",
        started.elapsed().as_secs_f64()
    );

    // Signer 2 restarts; a last busy block lands with its signatures too: it continues from its
    // own signed batches (or the watermark) without equivocating.
    s.start_signer_as("signer-2", 2, &url, &sat_rpc, &PLAN)?;
    h.busy_block(&s).await?;
    covered(&s, sat(&s), a, "every update on the Lites").await?;
    let by_signer2 = |after: u64| {
        let pool = s.pool.clone();
        async move {
            eyre::Ok(
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM relayer_signatures
                     WHERE signer = $1 AND sequence > $2 AND lite = $3",
                )
                .bind(signer2.as_slice())
                .bind(after as i64)
                .bind(a.identity_lite.as_slice())
                .fetch_one(&pool)
                .await?,
            )
        }
    };
    let (missed, late) = (
        (backlog - before) as i64 - by_signer2(before).await? + by_signer2(backlog).await?,
        by_signer2(backlog).await?,
    );
    assert!(late > 0, "signer 2 signs again after its restart");
    eprintln!("signer 2 missed {missed} backlog sequences, signed {late} after its restart");

    // The Lites hold exactly the home state, each record with the cursor of its last home event.
    let sp = sat(&s).provider.clone();
    let hp = s.home.provider.clone();
    let reg = IdentityRegistry::new(a.registry, hp.clone());
    let lite = IdentityLite::new(a.identity_lite, sp.clone());
    let reg_logs = hp
        .get_logs(&Filter::new().address(a.registry).from_block(0))
        .await?;
    for (id, _, status) in &h.ids {
        let home = reg.identityOf(*id).call().await?;
        let mirror = lite.identity(*id).call().await?;
        assert_eq!(
            (home.owner, home.wallet, home.entityType, home.status),
            (
                mirror.owner,
                mirror.wallet,
                mirror.entityType,
                mirror.status
            ),
            "identity {id}"
        );
        assert_eq!(home.status, *status, "the scenario's own model of {id}");
        let l = reg_logs
            .iter()
            .rfind(|l| l.topics().get(1) == Some(id))
            .ok_or_else(|| eyre!("no log of {id}"))?;
        let cursor = (l.block_number.unwrap_or_default() << 32) | l.log_index.unwrap_or_default();
        assert_eq!(mirror.cursor, cursor, "last update of {id}");
    }
    let dids = DIDRegistry::new(a.did_registry, hp.clone());
    let did_lite = DIDLite::new(a.did_lite, sp.clone());
    for (account, name) in &h.attrs {
        let did = s.addr(*account);
        let home = dids.attribute(did, *name).call().await?;
        let mirror = did_lite.attributeState(did, *name).call().await?;
        assert_eq!(
            (home.value, home.validTo, home.valueInfo, home.removed),
            (
                mirror.value,
                mirror.validTo,
                mirror.valueInfo,
                mirror.removed
            ),
            "attribute {name} of {did}"
        );
    }

    // Every sequence landed exactly once, and nothing else was sent.
    let lites = [a.identity_lite, a.did_lite, a.staking_lite];
    let mut landed = BTreeMap::new();
    for lite in lites {
        let applied = batch_applied(sat(&s), lite).await?;
        let seqs: Vec<u64> = applied.iter().map(|b| b.0).collect();
        let want: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(
            seqs, want,
            "BatchApplied of {lite}: each sequence once, no gap"
        );
        assert_eq!(
            watermark(sat(&s), lite).await?.lastSequence,
            seqs.len() as u64
        );
        landed.insert(lite, applied);
    }
    let total: usize = landed.values().map(Vec::len).sum();
    let sent = sp.get_transaction_count(s.relayer_key.address()).await?;
    assert_eq!(
        sent, total as u64,
        "the relayer's account sent one transaction per batch (no duplicate, no revert)"
    );
    assert!(
        landed[&a.identity_lite].len() >= 12,
        "several batches: {}",
        landed[&a.identity_lite].len()
    );

    // The clean run: the same home history, a fresh satellite (Lites at the same addresses) and
    // database, the same keys, nobody killed.
    let clean_sat = s.clean_satellite().await?;
    let clean = TestDb::new().await?;
    let clean_pool = clean.pool().await?;
    let (clean_url, clean_rpc) = (clean.url.clone(), clean_sat.rpc_url());
    s.start_relay_as("relay-clean", &clean_url, &clean_rpc, &[])?;
    s.wait_migrated(&clean_pool).await?;
    for i in 0..SIGNERS {
        s.start_signer_as(
            &format!("signer-clean-{i}"),
            i,
            &clean_url,
            &clean_rpc,
            &PLAN,
        )?;
    }
    for lite in lites {
        let want = watermark(sat(&s), lite).await?;
        let clean_sat = &clean_sat;
        s.wait(
            &format!("the clean run's {lite} at sequence {}", want.lastSequence),
            Duration::from_secs(40),
            || async move {
                let wm = watermark(clean_sat, lite).await.ok()?;
                (wm.lastSequence == want.lastSequence).then_some(())
            },
        )
        .await?;
    }
    // Landed is not finished: let the clean relayer record its last receipt and nonce.
    s.wait(
        "the clean relayer's last receipt recorded",
        Duration::from_secs(20),
        || async {
            let (next, sent): (Option<i64>, i64) = sqlx::query_as(
                "SELECT (SELECT max(next_nonce) FROM relayer_nonces),
                        (SELECT count(*) FROM relayer_txs WHERE status = 'sent')",
            )
            .fetch_one(&clean_pool)
            .await
            .ok()?;
            (next == Some(total as i64) && sent == 0).then_some(())
        },
    )
    .await?;
    s.kill("relay-clean")?;
    for i in 0..SIGNERS {
        s.kill(&format!("signer-clean-{i}"))?;
    }
    for lite in lites {
        assert_eq!(
            batch_applied(&clean_sat, lite).await?,
            landed[&lite],
            "the clean run's BatchApplied of {lite}"
        );
    }

    // relayer_batches: equal but for created_at.
    let cols = "(SELECT chain_id, lite, signer_set_id, sequence, digest, source_chain_id, \
                from_cursor, to_cursor, home_timestamp, count, updates_hash, packed_updates \
                FROM relayer_batches)";
    let order = "chain_id, lite, signer_set_id, sequence, digest";
    let crashed = table_rows(&s.pool, cols, order).await?;
    assert_eq!(crashed.len(), total, "one stored batch per landed sequence");
    assert!(
        crashed == table_rows(&clean_pool, cols, order).await?,
        "relayer_batches after the kills equal the clean run's"
    );
    let planned = batches(&s.pool).await?;
    for ((lite, _, seq), (_, header)) in &planned {
        assert_eq!(
            landed[lite].get(*seq as usize - 1),
            Some(header),
            "the stored batch {seq} of {lite} is the one that landed"
        );
    }

    // relayer_signatures: one digest per sequence (the batch's, as the Lite computes it), each
    // signature the RFC 6979 one, at least the threshold per sequence in both runs.
    let keys: BTreeMap<Address, &PrivateKeySigner> =
        s.signer_keys.iter().map(|k| (k.address(), k)).collect();
    let mut digests = BTreeMap::new();
    for ((lite, set, seq), (digest, h)) in &planned {
        let onchain = StakingLite::new(*lite, sp.clone())
            .batchDigest(ILiteBase::BatchHeader {
                sourceChainId: U256::from(crate::stack::HOME_ID),
                signerSetId: h.1,
                sequence: h.0,
                fromCursor: h.2,
                toCursor: h.3,
                homeTimestamp: h.4,
                count: h.5,
                updatesHash: h.6,
            })
            .call()
            .await?;
        assert_eq!(onchain, *digest, "digest of {lite} {seq}");
        digests.insert((*lite, *set, *seq), *digest);
    }
    let crashed = signatures(&s.pool).await?;
    let once = signatures(&clean_pool).await?;
    for (run, sigs) in [("after the kills", &crashed), ("clean", &once)] {
        let mut per_seq: BTreeMap<(Address, u64, u64), usize> = BTreeMap::new();
        for ((lite, set, seq, signer), (digest, sig)) in sigs {
            assert_eq!(
                digests.get(&(*lite, *set, *seq)),
                Some(digest),
                "{run}: {signer} signed the batch's digest for {lite} {seq}"
            );
            assert_eq!(
                *sig,
                rfc6979(keys[signer], *digest)?,
                "{run}: RFC 6979 signature of {signer} on {lite} {seq}"
            );
            *per_seq.entry((*lite, *set, *seq)).or_default() += 1;
        }
        assert_eq!(per_seq.len(), total, "{run}: signatures for every batch");
        assert!(
            per_seq.values().all(|n| *n >= THRESHOLD as usize),
            "{run}: at least the threshold per sequence"
        );
    }
    let common = crashed.keys().filter(|k| once.contains_key(k)).count();
    for (k, v) in &crashed {
        if let Some(w) = once.get(k) {
            assert_eq!(v, w, "signature {k:?} in both runs");
        }
    }

    // relayer_alerts: none; relayer_nonces: equal.
    for pool in [&s.pool, &clean_pool] {
        let alerts = table_rows(pool, "relayer_alerts", "id").await?;
        assert!(alerts.is_empty(), "alerts: {alerts:?}");
    }
    let nonces = "(SELECT chain_id, address, next_nonce FROM relayer_nonces)";
    let n1 = table_rows(&s.pool, nonces, "chain_id, address").await?;
    assert_eq!(
        n1,
        table_rows(&clean_pool, nonces, "chain_id, address").await?
    );
    assert_eq!(n1.len(), 1);
    assert!(
        n1[0].contains(&format!("\"next_nonce\": {total}")),
        "{n1:?}"
    );

    // relayer_txs: per landed batch exactly one attempt is on chain, marked mined, in both runs.
    let landed_keys: BTreeSet<(Address, u64)> = planned.keys().map(|(l, _, q)| (*l, *q)).collect();
    for (run, pool, chain) in [
        ("clean", &clean_pool, &clean_sat),
        ("after the kills", &s.pool, sat(&s)),
    ] {
        let stale = check_attempts(run, pool, chain, &landed_keys).await?;
        assert!(
            stale.is_empty(),
            "{run}: mined attempts not marked mined: {stale:?}"
        );
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM relayer_txs WHERE status NOT IN ('mined', 'replaced')",
        )
        .fetch_one(pool)
        .await?;
        assert_eq!(open, 0, "{run}: every attempt settled");
    }
    eprintln!(
        "{total} batches ({} on IdentityLite), {} signatures after the kills, {} clean, {common} \
         in both; {:.1} s",
        landed[&a.identity_lite].len(),
        crashed.len(),
        once.len(),
        started.elapsed().as_secs_f64()
    );
    drop(clean_pool);
    Ok(())
}

/// The relayer broadcasts a batch, dies before its receipt, the transaction is mined while it is
/// down, and it restarts: the attempt's `relayer_txs` row says `mined` with its gas, as in a run
/// without the kill (it stayed `sent` before `TxSender` settled earlier runs' attempts at start).
#[tokio::test]
async fn an_attempt_mined_while_the_relayer_is_down_is_recorded_as_mined() -> Result<()> {
    let mut s = Stack::up(Opts {
        name: "relayer_txs_status",
        indexer: true,
        keeper: false,
        api: false,
        satellite: true,
        signers: THRESHOLD as usize,
        relay: true,
    })
    .await?;
    let a = addrs(&s)?;
    let mut h = Home::new(a);
    h.register(&s, 1).await?;
    h.settle(&s).await?;
    covered(&s, sat(&s), a, "the first batch").await?;
    let mark = last_attempt_id(&s.pool).await?;
    set_automine(sat(&s), false).await?;
    h.register(&s, 2).await?;
    h.settle(&s).await?;
    s.mine_home(3).await?;
    let orphan = pending_apply(&s, sat(&s), mark).await?;
    s.kill("relay")?;
    set_automine(sat(&s), true).await?;
    mine_one(sat(&s)).await?;
    mined(&sat(&s).provider, orphan.hash).await?;
    s.start_relay()?;
    h.register(&s, 3).await?;
    h.settle(&s).await?;
    covered(&s, sat(&s), a, "the batch after the restart").await?;
    let status: (String, Option<i64>) =
        sqlx::query_as("SELECT status, gas_used FROM relayer_txs WHERE id = $1")
            .bind(orphan.id)
            .fetch_one(&s.pool)
            .await?;
    assert!(
        status.0 == "mined" && status.1.is_some(),
        "{} was mined, its row says {status:?}",
        orphan.hash
    );
    Ok(())
}
