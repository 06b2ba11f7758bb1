//! Test stack: a home anvil with the registries, a satellite anvil with the three Lites (signers =
//! anvil accounts 4..9, threshold 4), a fresh PostgreSQL database, signer daemons and relayers as
//! tasks.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
};
use eyre::{Result, eyre};
use pact_bindings::{
    did_lite::DIDLite, did_registry::DIDRegistry, identity_lite::IdentityLite,
    identity_registry::IdentityRegistry, stake_registry::StakeRegistry, staking_lite::StakingLite,
    test_usdt::TestUSDT,
};
use pact_relayer::{
    batch::LiteKind,
    home::PlanParams,
    relay::{RelayTarget, Relayer},
    signer::{self, Finality, LiteTarget, SignerConfig},
    tx::{FeePolicy, TxSender},
};
use pact_testkit::AnvilApi;
use pact_testkit::{
    TestChain, TestDb,
    deploy::{self, HomeIdentity, Lites},
};
use sqlx::PgPool;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinHandle;

/// Home chain id of the tests.
pub const HOME: u64 = 8453;
/// Satellite chain id of the tests.
pub const SAT: u64 = 10;
/// Anvil accounts 4..9 sign.
pub const SIGNER_ACCOUNTS: std::ops::Range<usize> = 4..10;

/// A home chain, one satellite, a database, daemons and relayers.
pub struct Stack {
    pub home: TestChain,
    pub sat: TestChain,
    pub _db: TestDb,
    pub pool: PgPool,
    pub identity_registry: Address,
    pub did_registry: Address,
    pub stake_registry: Address,
    pub token: Address,
    pub identity_lite: Address,
    pub did_lite: Address,
    pub staking_lite: Address,
    pub start_block: u64,
    pub params: PlanParams,
    pub confirmations: u64,
    pub signers: Vec<Option<JoinHandle<()>>>,
    pub relayers: Vec<JoinHandle<()>>,
    pub sender: Option<Arc<TxSender>>,
    pub rotation: Option<pact_relayer::signer::Rotation>,
    /// Overrides of the providers the daemons use (e.g. through a fault proxy).
    pub signer_rpc: Option<(DynProvider, DynProvider)>,
    home_providers: Vec<DynProvider>,
}

/// Waits for a transaction's successful receipt (anvil automine mines during
/// `eth_sendRawTransaction`).
pub use pact_testkit::deploy::mined;

macro_rules! send {
    ($p:expr, $call:expr) => {{
        let pending = $call.send().await?;
        $crate::common::mined(&$p, *pending.tx_hash()).await?
    }};
}

/// Pads a short string into a bytes32 word.
pub fn word(s: &str) -> B256 {
    let mut w = [0u8; 32];
    w[..s.len()].copy_from_slice(s.as_bytes());
    B256::from(w)
}

impl Stack {
    /// Deploys everything; no daemon runs yet.
    pub async fn new(params: PlanParams, confirmations: u64) -> Result<Self> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let home = pact_testkit::anvil(HOME)?;
        let sat = pact_testkit::anvil(SAT)?;
        let db = TestDb::new().await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(24)
            .connect(&db.url)
            .await?;
        pact_relayer::MIGRATOR.run(&pool).await?;

        let admin = home.signer(0).address();
        let token = deploy::token(&home.provider).await?;
        let registries = HomeIdentity::deploy(&home.provider, admin, token, 3600).await?;
        let start_block = 1;

        let signers: Vec<Address> = SIGNER_ACCOUNTS.map(|i| sat.signer(i).address()).collect();
        let lites = Lites::deploy(&sat.provider, HOME, signers, 4).await?;
        let home_providers = (0..10).map(|i| home.provider_for(i)).collect();
        Ok(Self {
            home,
            sat,
            _db: db,
            pool,
            identity_registry: registries.registry,
            did_registry: registries.did_registry,
            stake_registry: registries.stake_registry,
            token,
            identity_lite: lites.identity,
            did_lite: lites.did,
            staking_lite: lites.staking,
            start_block,
            params,
            confirmations,
            signers: (0..6).map(|_| None).collect(),
            relayers: Vec::new(),
            sender: None,
            rotation: None,
            signer_rpc: None,
            home_providers,
        })
    }

    /// Home provider signing with account `i`.
    pub fn hp(&self, i: usize) -> DynProvider {
        self.home_providers[i].clone()
    }

    /// The Lite address of `kind`.
    pub fn lite(&self, kind: LiteKind) -> Address {
        match kind {
            LiteKind::Identity => self.identity_lite,
            LiteKind::Did => self.did_lite,
            LiteKind::Staking => self.staking_lite,
        }
    }

    /// The daemon targets (all three Lites).
    pub fn targets(&self) -> Vec<LiteTarget> {
        LiteKind::ALL
            .into_iter()
            .map(|kind| LiteTarget {
                kind,
                chain_id: SAT,
                lite: self.lite(kind),
                satellite: self
                    .signer_rpc
                    .as_ref()
                    .map_or_else(|| self.sat.provider.clone(), |p| p.1.clone()),
                source: match kind {
                    LiteKind::Identity => self.identity_registry,
                    LiteKind::Did => self.did_registry,
                    LiteKind::Staking => self.stake_registry,
                },
                start_block: self.start_block,
            })
            .collect()
    }

    /// The daemon settings.
    pub fn signer_config(&self) -> SignerConfig {
        SignerConfig {
            home: self
                .signer_rpc
                .as_ref()
                .map_or_else(|| self.home.provider.clone(), |p| p.0.clone()),
            home_chain_id: HOME,
            finality: Finality::Confirmations(self.confirmations),
            params: self.params,
            pipeline: 8,
            poll: Duration::from_millis(40),
            rotation: self.rotation.clone(),
        }
    }

    /// The key of daemon `i` (0..6).
    pub fn signer_key(&self, i: usize) -> PrivateKeySigner {
        self.home.signer(SIGNER_ACCOUNTS.start + i)
    }

    /// Starts daemon `i` (0..6).
    pub fn start_signer(&mut self, i: usize) {
        let (pool, key, cfg, targets) = (
            self.pool.clone(),
            self.signer_key(i),
            self.signer_config(),
            self.targets(),
        );
        self.signers[i] = Some(tokio::spawn(async move {
            if let Err(e) = signer::run(pool, key, cfg, targets).await {
                tracing::error!(error = %e, "signer exited");
            }
        }));
    }

    /// Starts all six daemons.
    pub fn start_signers(&mut self) {
        for i in 0..6 {
            self.start_signer(i);
        }
    }

    /// Stops daemon `i`.
    pub fn stop_signer(&mut self, i: usize) {
        if let Some(h) = self.signers[i].take() {
            h.abort();
        }
    }

    /// Starts the relayer (account 1 on the satellite) for the three Lites.
    pub async fn start_relayer(&mut self, policy: FeePolicy) -> Result<()> {
        self.start_relayer_as(1, policy).await
    }

    /// Starts a relayer sending from satellite account `account`.
    pub async fn start_relayer_as(&mut self, account: usize, policy: FeePolicy) -> Result<()> {
        let sender = Arc::new(
            TxSender::new(
                self.sat.provider.clone(),
                self.sat.signer(account),
                self.pool.clone(),
                policy,
            )
            .await?,
        );
        for kind in LiteKind::ALL {
            let r = Relayer::new(
                self.pool.clone(),
                RelayTarget {
                    kind,
                    chain_id: SAT,
                    lite: self.lite(kind),
                    provider: self.sat.provider.clone(),
                    sender: sender.clone(),
                },
            );
            self.relayers.push(tokio::spawn(async move {
                let _ = r.run(Duration::from_millis(40)).await;
            }));
        }
        self.sender = Some(sender);
        Ok(())
    }

    /// Mines `n` home blocks.
    pub async fn mine_home(&self, n: u64) -> Result<()> {
        self.home.provider.anvil_mine(Some(n), None).await?;
        Ok(())
    }

    /// Mines enough home blocks for everything so far to become final and fall in a closed epoch.
    pub async fn finalize_home(&self) -> Result<u64> {
        let head = self.home.provider.get_block_number().await?;
        self.mine_home(self.params.epoch_blocks + self.confirmations + 1)
            .await?;
        Ok(head)
    }

    /// The Lite's watermark.
    pub async fn watermark(
        &self,
        kind: LiteKind,
    ) -> Result<pact_bindings::staking_lite::ILiteBase::Watermark> {
        Ok(StakingLite::new(self.lite(kind), self.sat.provider.clone())
            .watermark()
            .call()
            .await?)
    }

    /// Waits until `kind`'s Lite covers home block `block`.
    pub async fn wait_covered(
        &self,
        kind: LiteKind,
        block: u64,
        timeout: Duration,
    ) -> Result<Duration> {
        let t0 = Instant::now();
        loop {
            let wm = self.watermark(kind).await?;
            if wm.lastCursor >= pact_relayer::batch::cursor(block, pact_relayer::batch::WHOLE_BLOCK)
            {
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > timeout {
                return Err(eyre!(
                    "{kind:?} Lite stuck at cursor block {} (seq {}), want {block}",
                    wm.lastCursor >> 32,
                    wm.lastSequence
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // ------------------------------------------------------------------ home actions

    /// Sets DID attribute `name` of account `i` to `value` (inline).
    pub async fn did_set(&self, i: usize, name: B256, value: &[u8]) -> Result<TransactionReceipt> {
        let p = self.hp(i);
        let reg = DIDRegistry::new(self.did_registry, p.clone());
        Ok(send!(
            p,
            reg.setAttribute(name, Bytes::copy_from_slice(value), 1_000_000)
        ))
    }

    /// Registers an identity owned by account `owner` with a fresh wallet; returns (id, wallet key).
    pub async fn register(
        &self,
        owner: usize,
        salt: &str,
        entity_type: u8,
    ) -> Result<(B256, PrivateKeySigner)> {
        let p = self.hp(owner);
        let reg = IdentityRegistry::new(self.identity_registry, p.clone());
        let wallet = PrivateKeySigner::random();
        let owner_addr = self.home.signer(owner).address();
        let salt = keccak256(salt);
        let id = reg.computeId(owner_addr, salt).call().await?;
        let deadline = U256::from(u64::MAX);
        let digest = reg
            .walletBindingDigest(id, owner_addr, wallet.address(), U256::ZERO, deadline)
            .call()
            .await?;
        let sig = wallet.sign_hash_sync(&digest)?;
        send!(
            p,
            reg.register(
                salt,
                entity_type,
                wallet.address(),
                B256::ZERO,
                deadline,
                Bytes::from(sig.as_bytes().to_vec())
            )
        );
        Ok((id, wallet))
    }

    /// Binds a fresh wallet to `id` (owner account `owner`).
    pub async fn set_wallet(&self, owner: usize, id: B256) -> Result<PrivateKeySigner> {
        let p = self.hp(owner);
        let reg = IdentityRegistry::new(self.identity_registry, p.clone());
        let wallet = PrivateKeySigner::random();
        let owner_addr = self.home.signer(owner).address();
        let deadline = U256::from(u64::MAX);
        let digest = reg
            .walletBindingDigest(id, owner_addr, wallet.address(), U256::ZERO, deadline)
            .call()
            .await?;
        let sig = wallet.sign_hash_sync(&digest)?;
        send!(
            p,
            reg.setWallet(
                id,
                wallet.address(),
                deadline,
                Bytes::from(sig.as_bytes().to_vec())
            )
        );
        Ok(wallet)
    }

    /// Suspends `id` (registry admin).
    pub async fn suspend(&self, id: B256) -> Result<()> {
        let p = self.hp(0);
        send!(
            p,
            IdentityRegistry::new(self.identity_registry, p.clone()).suspend(id)
        );
        Ok(())
    }

    /// Bonds `amount` on `id` from owner account `owner` (mints and approves first).
    pub async fn bond(&self, owner: usize, id: B256, amount: u64) -> Result<()> {
        let p0 = self.hp(0);
        let owner_addr = self.home.signer(owner).address();
        send!(
            p0,
            TestUSDT::new(self.token, p0.clone()).mint(owner_addr, U256::from(amount))
        );
        let p = self.hp(owner);
        send!(
            p,
            TestUSDT::new(self.token, p.clone()).approve(self.stake_registry, U256::from(amount))
        );
        send!(
            p,
            StakeRegistry::new(self.stake_registry, p.clone())
                .bond(id, alloy::primitives::Uint::from(amount))
        );
        Ok(())
    }

    // ------------------------------------------------------------------ fold checks

    /// The DID Lite equals the home registry for every (account, name).
    pub async fn assert_did_equal(&self, keys: &[(Address, B256)]) -> Result<()> {
        let home = DIDRegistry::new(self.did_registry, self.home.provider.clone());
        let lite = DIDLite::new(self.did_lite, self.sat.provider.clone());
        for (did, name) in keys {
            let h = home.attribute(*did, *name).call().await?;
            let l = lite.attributeState(*did, *name).call().await?;
            eyre::ensure!(
                (h.value, h.validTo, h.valueInfo, h.removed)
                    == (l.value, l.validTo, l.valueInfo, l.removed)
                    && l.cursor != 0,
                "DID {did} {name}: home {h:?} lite {l:?}"
            );
        }
        Ok(())
    }

    /// The Identity Lite equals the home registry for every id.
    pub async fn assert_identity_equal(&self, ids: &[B256]) -> Result<()> {
        let home = IdentityRegistry::new(self.identity_registry, self.home.provider.clone());
        let lite = IdentityLite::new(self.identity_lite, self.sat.provider.clone());
        for id in ids {
            let h = home.identityOf(*id).call().await?;
            let l = lite.identity(*id).call().await?;
            eyre::ensure!(
                (h.owner, h.wallet, h.entityType, h.status)
                    == (l.owner, l.wallet, l.entityType, l.status),
                "identity {id}: home {h:?} lite {l:?}"
            );
        }
        Ok(())
    }

    /// The Staking Lite equals the home registry for every id.
    pub async fn assert_stake_equal(&self, ids: &[B256]) -> Result<()> {
        let home = StakeRegistry::new(self.stake_registry, self.home.provider.clone());
        let lite = StakingLite::new(self.staking_lite, self.sat.provider.clone());
        for id in ids {
            let h = home.bondOf(*id).call().await?;
            let l = lite.bondOf(*id).call().await?;
            eyre::ensure!(
                (h.amount, h.unbonding) == (l.amount, l.unbonding),
                "bond {id}: home {h:?} lite {l:?}"
            );
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for h in self.signers.iter_mut().filter_map(Option::take) {
            h.abort();
        }
        for h in &self.relayers {
            h.abort();
        }
    }
}
