//! A Lite's state as the signer daemons and the relayer read it: pause flag, watermark and signer
//! set, all at one satellite block. Every Lite has the same views (`ILiteBase`), so they are read
//! through the `StakingLite` bindings whichever Lite it is.

use crate::{RelayerError, RelayerResult};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::Address,
    providers::{DynProvider, Provider},
};
use pact_bindings::staking_lite::{ILiteBase::Watermark, StakingLite};

/// One Lite's views at one satellite block.
#[derive(Debug, Clone)]
pub struct LiteAt {
    lite: StakingLite::StakingLiteInstance<DynProvider>,
    at: BlockId,
}

impl LiteAt {
    /// The Lite at `lite` as of block `at`.
    pub fn new(provider: DynProvider, lite: Address, at: BlockId) -> Self {
        Self {
            lite: StakingLite::new(lite, provider),
            at,
        }
    }

    /// The Lite as of the satellite's latest block, named by its hash, so every read sees the
    /// same state even when a rotation lands in between: a node that has not finished committing
    /// a new head's state answers for the hash exactly or not at all, never with a mix of the old
    /// and the new state (seen with anvil under load: membership of the old set read together
    /// with the watermark of the new one).
    pub async fn latest(provider: DynProvider, lite: Address) -> RelayerResult<Self> {
        let head = provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(RelayerError::rpc("eth_getBlockByNumber"))?
            .ok_or(RelayerError::Missing("latest satellite block"))?;
        Ok(Self::new(provider, lite, BlockId::hash(head.header.hash)))
    }

    /// The bindings, for calls and transactions beyond the views.
    pub fn contract(&self) -> &StakingLite::StakingLiteInstance<DynProvider> {
        &self.lite
    }

    /// Whether the Lite is paused (for good: an equivocation was reported).
    pub async fn paused(&self) -> RelayerResult<bool> {
        self.lite
            .paused()
            .block(self.at)
            .call()
            .await
            .map_err(RelayerError::contract("paused"))
    }

    /// The last applied batch and the current signer set id.
    pub async fn watermark(&self) -> RelayerResult<Watermark> {
        self.lite
            .watermark()
            .block(self.at)
            .call()
            .await
            .map_err(RelayerError::contract("watermark"))
    }

    /// The current signer set.
    pub async fn signers(&self) -> RelayerResult<Vec<Address>> {
        self.lite
            .signers()
            .block(self.at)
            .call()
            .await
            .map_err(RelayerError::contract("signers"))
    }

    /// Signatures a batch needs.
    pub async fn threshold(&self) -> RelayerResult<u8> {
        self.lite
            .threshold()
            .block(self.at)
            .call()
            .await
            .map_err(RelayerError::contract("threshold"))
    }

    /// Whether `who` is in the current signer set.
    pub async fn is_signer(&self, who: Address) -> RelayerResult<bool> {
        self.lite
            .isSigner(who)
            .block(self.at)
            .call()
            .await
            .map_err(RelayerError::contract("isSigner"))
    }
}
