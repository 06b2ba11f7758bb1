//! The one deploy of Pact's contracts on a test chain, through the Rust bindings: the token and
//! escrow on a home chain, the identity registries next to them, and the three Lites on a
//! satellite. Every crate's tests and the local stack's supervisor (`pact-stack`) use it, and
//! [`HomeContracts::deployment`] / [`Lites::deployment`] give the record
//! (`deployments/<chain_id>.json`) the services read.

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use eyre::{Result, WrapErr, eyre};
use pact_bindings::{
    Deployment,
    did_lite::DIDLite,
    did_registry::DIDRegistry,
    escrow::{IPactEscrow, PactEscrow},
    identity_lite::IdentityLite,
    identity_registry::IdentityRegistry,
    stake_registry::StakeRegistry,
    staking_lite::StakingLite,
    test_usdt::TestUSDT,
};
use std::time::Duration;

const DAY: u32 = 86_400;

/// Waits for the receipt of `hash` (anvil's automine mines during `eth_sendRawTransaction`; with
/// interval mining it takes up to a block) and requires success.
pub async fn mined<P: Provider>(p: &P, hash: B256) -> Result<TransactionReceipt> {
    for _ in 0..1_000 {
        if let Some(r) = p.get_transaction_receipt(hash).await? {
            eyre::ensure!(r.status(), "transaction {hash} reverted");
            return Ok(r);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(eyre!("transaction {hash} not mined"))
}

/// Sends a contract call (`$call.send()`) and returns its successful receipt
/// ([`mined`] over provider `$p`).
#[macro_export]
macro_rules! send_tx {
    ($p:expr, $call:expr) => {{
        let pending = $call
            .send()
            .await
            .map_err(|e| ::eyre::eyre!("{}: {e}", stringify!($call)))?;
        $crate::deploy::mined(&$p, *pending.tx_hash()).await?
    }};
}

/// Who runs an escrow and under which settings.
#[derive(Debug, Clone)]
pub struct EscrowParams {
    /// Owner (settings, rescue, fee withdrawal).
    pub owner: Address,
    /// Arbiter of disputes.
    pub arbiter: Address,
    /// Receiver of the fees.
    pub treasury: Address,
    /// Ceiling of `feeBps` for the escrow's lifetime.
    pub max_fee_bps: u16,
    /// The settings snapshot at deployment.
    pub config: IPactEscrow::Config,
}

impl EscrowParams {
    /// The settings of `DeployEscrow.s.sol`'s defaults: 1 % fee (at most 10 %), 72 h review
    /// steps, a 7-day arbiter window and a 50/50 default ruling.
    pub fn standard(owner: Address, arbiter: Address, treasury: Address) -> Self {
        Self {
            owner,
            arbiter,
            treasury,
            max_fee_bps: 1_000,
            config: standard_config(),
        }
    }
}

/// 1 % fee, 72 h review steps, 7-day arbiter window, default ruling 50/50.
pub fn standard_config() -> IPactEscrow::Config {
    IPactEscrow::Config {
        feeBps: 100,
        reviewWindow: 3 * DAY,
        arbiterWindow: 7 * DAY,
        defaultSellerBps: 5_000,
    }
}

/// Deploys a `TestUSDT` ("Tether USD", 6 decimals) from `p`'s signer.
pub async fn token<P: Provider>(p: &P) -> Result<Address> {
    Ok(*TestUSDT::deploy(p, "Tether USD".into(), "USDT".into(), 6)
        .await
        .wrap_err("deploying TestUSDT")?
        .address())
}

/// Deploys a `PactEscrow` over `token` from `p`'s signer.
pub async fn escrow<P: Provider>(p: &P, token: Address, params: &EscrowParams) -> Result<Address> {
    Ok(*PactEscrow::deploy(
        p,
        token,
        params.owner,
        params.arbiter,
        params.treasury,
        params.max_fee_bps,
        params.config.clone(),
    )
    .await
    .wrap_err("deploying PactEscrow")?
    .address())
}

/// A token and an escrow on one chain.
#[derive(Debug, Clone, Copy)]
pub struct Market {
    /// The `TestUSDT`.
    pub token: Address,
    /// The `PactEscrow` over it.
    pub escrow: Address,
    /// A block at or before both deployments (a safe indexer start).
    pub deploy_block: u64,
}

impl Market {
    /// Deploys `TestUSDT` then `PactEscrow` from `p`'s signer (in that order: a fresh chain puts
    /// them at the deployer's first two addresses).
    pub async fn deploy<P: Provider>(p: &P, params: &EscrowParams) -> Result<Self> {
        let deploy_block = p.get_block_number().await?;
        let token = token(p).await?;
        let escrow = escrow(p, token, params).await?;
        Ok(Self {
            token,
            escrow,
            deploy_block,
        })
    }

    /// Mints `amount` base units of the token to `to` (`p` signs as the token's owner, the
    /// deployer).
    pub async fn mint<P: Provider>(&self, p: &P, to: Address, amount: U256) -> Result<()> {
        send_tx!(p, TestUSDT::new(self.token, p).mint(to, amount));
        Ok(())
    }

    /// `p`'s signer approves the escrow for `amount` of the token.
    pub async fn approve<P: Provider>(&self, p: &P, amount: U256) -> Result<()> {
        send_tx!(p, TestUSDT::new(self.token, p).approve(self.escrow, amount));
        Ok(())
    }
}

/// The home chain's identity registries.
#[derive(Debug, Clone, Copy)]
pub struct HomeIdentity {
    /// `IdentityRegistry`.
    pub registry: Address,
    /// `DIDRegistry`.
    pub did_registry: Address,
    /// `StakeRegistry`.
    pub stake_registry: Address,
    /// The token bonds are held in.
    pub stake_token: Address,
    /// A block at or before the three deployments.
    pub deploy_block: u64,
}

impl HomeIdentity {
    /// Deploys `IdentityRegistry`, `DIDRegistry` and `StakeRegistry` (bonds in `stake_token`,
    /// unbonding after `unbonding_secs`) from `p`'s signer, administered by `admin`.
    pub async fn deploy<P: Provider>(
        p: &P,
        admin: Address,
        stake_token: Address,
        unbonding_secs: u64,
    ) -> Result<Self> {
        let deploy_block = p.get_block_number().await?;
        let registry = *IdentityRegistry::deploy(p, admin)
            .await
            .wrap_err("deploying IdentityRegistry")?
            .address();
        let did_registry = *DIDRegistry::deploy(p)
            .await
            .wrap_err("deploying DIDRegistry")?
            .address();
        let stake_registry =
            *StakeRegistry::deploy(p, stake_token, registry, unbonding_secs, admin)
                .await
                .wrap_err("deploying StakeRegistry")?
                .address();
        Ok(Self {
            registry,
            did_registry,
            stake_registry,
            stake_token,
            deploy_block,
        })
    }
}

/// The three Lites of a satellite chain.
#[derive(Debug, Clone)]
pub struct Lites {
    /// `IdentityLite`.
    pub identity: Address,
    /// `DIDLite`.
    pub did: Address,
    /// `StakingLite`.
    pub staking: Address,
    /// The home chain they mirror.
    pub home_chain_id: u64,
    /// The signer set.
    pub signers: Vec<Address>,
    /// Signatures a batch needs.
    pub threshold: u8,
    /// A block at or before the three deployments.
    pub deploy_block: u64,
}

impl Lites {
    /// Deploys `IdentityLite`, `DIDLite` and `StakingLite` (in that order) from `p`'s signer,
    /// mirroring `home_chain_id`, for `signers` at `threshold`.
    pub async fn deploy<P: Provider>(
        p: &P,
        home_chain_id: u64,
        signers: Vec<Address>,
        threshold: u8,
    ) -> Result<Self> {
        let deploy_block = p.get_block_number().await?;
        let home = U256::from(home_chain_id);
        let identity = *IdentityLite::deploy(p, home, signers.clone(), threshold)
            .await
            .wrap_err("deploying IdentityLite")?
            .address();
        let did = *DIDLite::deploy(p, home, signers.clone(), threshold)
            .await
            .wrap_err("deploying DIDLite")?
            .address();
        let staking = *StakingLite::deploy(p, home, signers.clone(), threshold)
            .await
            .wrap_err("deploying StakingLite")?
            .address();
        Ok(Self {
            identity,
            did,
            staking,
            home_chain_id,
            signers,
            threshold,
            deploy_block,
        })
    }

    /// The satellite's deployment record.
    pub fn deployment(&self, chain_id: u64) -> Deployment {
        Deployment {
            chain_id,
            identity_lite: Some(self.identity),
            did_lite: Some(self.did),
            staking_lite: Some(self.staking),
            home_chain_id: Some(self.home_chain_id),
            signers: Some(self.signers.clone()),
            threshold: Some(self.threshold),
            identity_deploy_block: Some(self.deploy_block),
            ..Deployment::default()
        }
    }
}

/// Everything Pact deploys on a home chain.
#[derive(Debug, Clone, Copy)]
pub struct HomeContracts {
    /// Token and escrow.
    pub market: Market,
    /// The identity registries, when deployed.
    pub identity: Option<HomeIdentity>,
}

impl HomeContracts {
    /// The home chain's deployment record.
    pub fn deployment(&self, chain_id: u64) -> Deployment {
        let mut d = Deployment {
            chain_id,
            token: Some(self.market.token),
            token_decimals: Some(6),
            escrow: Some(self.market.escrow),
            deploy_block: Some(self.market.deploy_block),
            ..Deployment::default()
        };
        if let Some(id) = &self.identity {
            d.identity_registry = Some(id.registry);
            d.did_registry = Some(id.did_registry);
            d.stake_registry = Some(id.stake_registry);
            d.stake_token = Some(id.stake_token);
            d.identity_deploy_block = Some(id.deploy_block);
        }
        d
    }
}

/// Writes `deployment` as `<dir>/<chain_id>.json`; returns the path.
pub fn write_deployment(
    dir: &std::path::Path,
    deployment: &Deployment,
) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.json", deployment.chain_id));
    std::fs::write(&path, serde_json::to_string_pretty(deployment)?)
        .wrap_err_with(|| format!("writing {}", path.display()))?;
    Ok(path)
}
