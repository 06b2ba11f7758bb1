//! The deployment record `contracts/deployments/<chain_id>.json`, written by the forge deploy
//! scripts and read by the indexer, the relayer, the API and the tests.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Addresses and start blocks of one chain's Pact contracts. Contracts that were not deployed on
/// a chain (an escrow on an identity satellite, say) are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// EIP-155 chain id (taken from the file name `<chain_id>.json` when the file has none).
    #[serde(default)]
    pub chain_id: u64,
    /// Settlement token (TestUSDT on local chains).
    #[serde(default)]
    pub token: Option<Address>,
    /// Decimals of `token`.
    #[serde(default)]
    pub token_decimals: Option<u8>,
    /// The PactEscrow instance for `token`.
    #[serde(default)]
    pub escrow: Option<Address>,
    /// Block of the escrow deployment (the indexer's start block).
    #[serde(default)]
    pub deploy_block: Option<u64>,
    /// Home chain: the identity registry.
    #[serde(default)]
    pub identity_registry: Option<Address>,
    /// Home chain: the DID attribute registry.
    #[serde(default)]
    pub did_registry: Option<Address>,
    /// Home chain: the stake bond registry.
    #[serde(default)]
    pub stake_registry: Option<Address>,
    /// Home chain: the token bonds are held in.
    #[serde(default)]
    pub stake_token: Option<Address>,
    /// Satellite: the identity mirror.
    #[serde(default)]
    pub identity_lite: Option<Address>,
    /// Satellite: the DID attribute mirror.
    #[serde(default)]
    pub did_lite: Option<Address>,
    /// Satellite: the stake bond mirror.
    #[serde(default)]
    pub staking_lite: Option<Address>,
    /// Satellite: the chain the Lites mirror.
    #[serde(default)]
    pub home_chain_id: Option<u64>,
    /// Satellite: the initial signer set of the Lites.
    #[serde(default)]
    pub signers: Option<Vec<Address>>,
    /// Satellite: signatures a batch needs.
    #[serde(default)]
    pub threshold: Option<u8>,
    /// Block of the first identity deployment on this chain.
    #[serde(default)]
    pub identity_deploy_block: Option<u64>,
}

/// Why a deployment record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file could not be read.
    #[error("cannot read deployment file {}: {}", .0.display(), .1)]
    Io(std::path::PathBuf, #[source] std::io::Error),
    /// The file is not a valid deployment record.
    #[error("invalid deployment file {}: {}", .0.display(), .1)]
    Parse(std::path::PathBuf, #[source] serde_json::Error),
}

impl Deployment {
    /// The lowest block any indexed contract of this chain was deployed at.
    pub fn start_block(&self) -> Option<u64> {
        [self.deploy_block, self.identity_deploy_block]
            .into_iter()
            .flatten()
            .min()
    }

    /// Reads and parses a deployment file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DeploymentError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| DeploymentError::Io(path.into(), e))?;
        let mut dep: Self =
            serde_json::from_str(&text).map_err(|e| DeploymentError::Parse(path.into(), e))?;
        if dep.chain_id == 0 {
            dep.chain_id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        Ok(dep)
    }
}
