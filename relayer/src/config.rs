//! Typed configuration of the `pact-relayer` binary (flags and environment).
//!
//! One binary, three subcommands: `signer` (one daemon per key), `relay` (the relayer, optionally
//! with the keeper on the same chain sharing its nonce manager) and `keeper`.

use crate::{
    RelayerError, RelayerResult,
    batch::LiteKind,
    home::PlanParams,
    signer::{Finality, LiteTarget},
};
use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
};
use pact_bindings::{
    ChainSpec, Deployment,
    chain_spec::{ChainSpecError, Key, parse_rpc_url},
    rpc::{self, Transient},
};
use std::path::PathBuf;
use url::Url;

/// `pact-relayer`: signer daemons, relayer and keeper of Pact.
#[derive(Debug, clap::Parser)]
#[command(version, about)]
pub struct Cli {
    /// PostgreSQL URL of the Pact database (migrations are applied at start).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A signer daemon: signs the batches of every Lite of every satellite with one key.
    Signer(SignerArgs),
    /// The relayer: lands threshold-signed batches on every Lite of the satellites.
    Relay(RelayArgs),
    /// The escrow keeper alone.
    Keeper(KeeperArgs),
}

/// Parses one `--satellite` value: `rpc=<url>,deployment=<path to deployments/<chain_id>.json>`
/// ([`Key::ENDPOINT`]: the relayer writes to the satellite, so finality and start do not apply).
pub fn parse_satellite(spec: &str) -> Result<ChainSpec, ChainSpecError> {
    ChainSpec::parse(spec, Key::ENDPOINT)
}

/// The chain id and Lites of a satellite's deployment file.
pub fn satellite_lites(spec: &ChainSpec) -> RelayerResult<(u64, Vec<(LiteKind, Address)>)> {
    let d = Deployment::load(&spec.deployment)?;
    let lites = [
        (LiteKind::Identity, d.identity_lite),
        (LiteKind::Did, d.did_lite),
        (LiteKind::Staking, d.staking_lite),
    ]
    .into_iter()
    .filter_map(|(k, a)| a.map(|a| (k, a)))
    .collect();
    Ok((d.chain_id, lites))
}

/// A provider for `rpc` whose transient failures are resent ([`pact_bindings::rpc`]).
pub fn provider(rpc: &str) -> RelayerResult<DynProvider> {
    provider_at(&parse_rpc_url(rpc)?)
}

/// [`provider`] for a parsed URL.
pub fn provider_at(rpc: &Url) -> RelayerResult<DynProvider> {
    let client =
        rpc::client(rpc.clone(), None, Transient::default()).map_err(RelayerError::HttpClient)?;
    Ok(ProviderBuilder::new().connect_client(client).erased())
}

/// The `--satellite` flags of `signer` and `relay`.
#[derive(Debug, clap::Args)]
pub struct SatelliteArgs {
    /// Satellites, `rpc=<url>,deployment=<path>`; repeat, or separate with `;` in the environment.
    #[arg(
        long = "satellite",
        env = "PACT_SATELLITES",
        value_delimiter = ';',
        required = true,
        value_parser = parse_satellite
    )]
    pub specs: Vec<ChainSpec>,
}

/// `pact-relayer signer`.
#[derive(Debug, clap::Args)]
pub struct SignerArgs {
    /// Hex private key of this daemon.
    #[arg(long, env = "PACT_SIGNER_KEY", hide_env_values = true)]
    pub key: String,
    /// Home chain JSON-RPC URL.
    #[arg(long, env = "PACT_HOME_RPC", value_parser = parse_rpc_url)]
    pub home_rpc: Url,
    /// Home deployment file (`identityRegistry`, `didRegistry`, `stakeRegistry`, `identityDeployBlock`).
    #[arg(long, env = "PACT_HOME_DEPLOYMENT")]
    pub home_deployment: PathBuf,
    /// The satellites.
    #[command(flatten)]
    pub satellites: SatelliteArgs,
    /// Home blocks below the head treated as final (ignored with `--finalized-tag`).
    #[arg(long, env = "PACT_CONFIRMATIONS", default_value_t = 2)]
    pub confirmations: u64,
    /// Use the node's `finalized` tag instead of a confirmation depth.
    #[arg(long, env = "PACT_FINALIZED_TAG")]
    pub finalized_tag: bool,
    /// Protocol: batches end on multiples of this many home blocks (same on every daemon).
    #[arg(long, env = "PACT_EPOCH_BLOCKS", default_value_t = 1)]
    pub epoch_blocks: u64,
    /// Protocol: heartbeat batch every this many home blocks without events, 0 = none (same on every daemon).
    #[arg(long, env = "PACT_HEARTBEAT_BLOCKS", default_value_t = 0)]
    pub heartbeat_blocks: u64,
    /// Protocol: most updates per batch (same on every daemon).
    #[arg(long, env = "PACT_MAX_UPDATES", default_value_t = 100)]
    pub max_updates: usize,
    /// Sign at most this many sequences ahead of the on-chain watermark.
    #[arg(long, env = "PACT_PIPELINE", default_value_t = 8)]
    pub pipeline: u64,
    /// Idle polling interval, milliseconds.
    #[arg(long, env = "PACT_POLL_MS", default_value_t = 200)]
    pub poll_ms: u64,
    /// Planned signer rotation `<from set id>:<sequence>:<threshold>:<addr>,<addr>,...`, the same
    /// on every daemon of the set, for a sequence beyond what they signed.
    #[arg(long, env = "PACT_ROTATION")]
    pub rotation: Option<String>,
}

impl SignerArgs {
    /// The finality rule.
    pub fn finality(&self) -> Finality {
        if self.finalized_tag {
            Finality::Finalized
        } else {
            Finality::Confirmations(self.confirmations)
        }
    }

    /// The planning parameters.
    pub fn params(&self) -> PlanParams {
        PlanParams {
            epoch_blocks: self.epoch_blocks,
            heartbeat_blocks: self.heartbeat_blocks,
            max_updates: self.max_updates,
            ..PlanParams::default()
        }
    }

    /// The targets from the deployments.
    pub fn targets(&self) -> RelayerResult<(u64, Vec<LiteTarget>)> {
        let home = Deployment::load(&self.home_deployment)?;
        let start = home
            .identity_deploy_block
            .or(home.deploy_block)
            .unwrap_or(0);
        let mut out = Vec::new();
        for spec in &self.satellites.specs {
            let (chain_id, lites) = satellite_lites(spec)?;
            let sat = provider_at(&spec.rpc)?;
            for (kind, lite) in lites {
                let source = match kind {
                    LiteKind::Identity => home.identity_registry,
                    LiteKind::Did => home.did_registry,
                    LiteKind::Staking => home.stake_registry,
                }
                .ok_or_else(|| {
                    RelayerError::Config(format!("home deployment has no registry for {kind:?}"))
                })?;
                out.push(LiteTarget {
                    kind,
                    chain_id,
                    lite,
                    satellite: sat.clone(),
                    source,
                    start_block: start,
                });
            }
        }
        Ok((home.chain_id, out))
    }
}

/// Fee flags shared by `relay` and `keeper`.
#[derive(Debug, clap::Args)]
pub struct FeeArgs {
    /// Hex private key of the sending account.
    #[arg(long, env = "PACT_RELAYER_KEY", hide_env_values = true)]
    pub key: String,
    /// Replace a transaction not mined after this many milliseconds.
    #[arg(long, env = "PACT_BUMP_AFTER_MS", default_value_t = 12_000)]
    pub bump_after_ms: u64,
    /// Fee increase per replacement, percent (>= 10).
    #[arg(long, env = "PACT_BUMP_PERCENT", default_value_t = 15)]
    pub bump_percent: u64,
    /// Cap on `maxFeePerGas`, gwei.
    #[arg(long, env = "PACT_MAX_FEE_GWEI", default_value_t = 500)]
    pub max_fee_gwei: u64,
}

impl FeeArgs {
    /// The policy.
    pub fn policy(&self) -> crate::tx::FeePolicy {
        crate::tx::FeePolicy {
            bump_after: std::time::Duration::from_millis(self.bump_after_ms),
            bump_percent: self.bump_percent,
            max_fee_cap: self.max_fee_gwei as u128 * 1_000_000_000,
            ..Default::default()
        }
    }
}

/// `pact-relayer relay`.
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// The satellites.
    #[command(flatten)]
    pub satellites: SatelliteArgs,
    /// Fees and key.
    #[command(flatten)]
    pub fees: FeeArgs,
    /// Also run the escrow keeper on every satellite whose deployment has an `escrow`, sharing the nonce manager.
    #[arg(long, env = "PACT_WITH_KEEPER")]
    pub with_keeper: bool,
    /// Orders per `advanceMany` (with `--with-keeper`).
    #[arg(long, env = "PACT_KEEPER_BATCH", default_value_t = 50)]
    pub keeper_batch: usize,
    /// Idle polling interval, milliseconds.
    #[arg(long, env = "PACT_POLL_MS", default_value_t = 200)]
    pub poll_ms: u64,
}

/// `pact-relayer keeper`.
#[derive(Debug, clap::Args)]
pub struct KeeperArgs {
    /// Chain JSON-RPC URL.
    #[arg(long, env = "PACT_RPC", value_parser = parse_rpc_url)]
    pub rpc: Url,
    /// Deployment file with `escrow` and `deployBlock`.
    #[arg(long, env = "PACT_DEPLOYMENT")]
    pub deployment: PathBuf,
    /// Fees and key.
    #[command(flatten)]
    pub fees: FeeArgs,
    /// Orders per `advanceMany`.
    #[arg(long, env = "PACT_KEEPER_BATCH", default_value_t = 50)]
    pub batch: usize,
    /// Idle polling interval, milliseconds.
    #[arg(long, env = "PACT_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn relay(satellite: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from([
            "pact-relayer",
            "relay",
            "--key",
            "0x01",
            "--satellite",
            satellite,
        ])
    }

    #[test]
    fn satellite_flags_take_rpc_and_deployment_only() {
        let cli = relay("rpc=http://127.0.0.1:8546,deployment=d/31338.json").unwrap();
        let Command::Relay(args) = cli.command else {
            panic!("relay")
        };
        assert_eq!(
            args.satellites.specs[0].rpc.as_str(),
            "http://127.0.0.1:8546/"
        );
        assert_eq!(
            args.satellites.specs[0].deployment,
            std::path::Path::new("d/31338.json")
        );
        for (spec, want) in [
            (
                "rpc=http://x,deployment=y,start=4",
                "unknown key \"start\" (known: rpc, deployment)",
            ),
            ("rpc=http://x", "deployment=<path> is missing"),
            (
                "rpc=ws://x,deployment=y",
                "scheme \"ws\" is not http or https",
            ),
        ] {
            let err = relay(spec).unwrap_err().to_string();
            assert!(
                err.contains("--satellite") && err.contains(want),
                "{spec}: {err}"
            );
        }
        let err = Cli::try_parse_from(["pact-relayer", "keeper", "--rpc", "localhost:8545"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--rpc") && err.contains("is not http or https"),
            "{err}"
        );
    }
}
