//! Typed configuration of `pact-indexer` from flags and environment.

use crate::{
    IndexerError, IndexerResult,
    decode::{ContractKind, Contracts},
    follower::FollowerConfig,
    identity::IdentityKind,
};
use pact_bindings::{
    ChainSpec, Deployment,
    chain_spec::{ChainSpecError, Key},
};
use std::{net::SocketAddr, time::Duration};

/// `pact-indexer`: mirrors Pact's contract events into PostgreSQL.
#[derive(Debug, clap::Parser)]
#[command(version, about)]
pub struct Cli {
    /// PostgreSQL URL of the Pact database (migrations are applied at start).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// A chain to follow, as comma-separated `key=value` pairs:
    /// `rpc=<url>,deployment=<path to deployments/<chain_id>.json>` plus optional
    /// `confirmations=<n>` or `finality=finalized`, and `start=<block>` (default: the deploy
    /// block). Repeat the flag for several chains; in the environment separate chains with `;`.
    #[arg(
        long = "chain",
        env = "PACT_INDEXER_CHAINS",
        value_delimiter = ';',
        required = true,
        value_parser = parse_chain
    )]
    pub chains: Vec<ChainSpec>,

    /// Idle polling interval of the head, in milliseconds.
    #[arg(long, env = "PACT_INDEXER_POLL_MS", default_value_t = 50)]
    pub poll_ms: u64,

    /// `eth_getLogs` requests in flight per chain during backfill.
    #[arg(long, env = "PACT_INDEXER_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,

    /// Largest `eth_getLogs` block range.
    #[arg(long, env = "PACT_INDEXER_MAX_RANGE", default_value_t = 50_000)]
    pub max_range: u64,

    /// Per-request RPC timeout, in seconds.
    #[arg(long, env = "PACT_INDEXER_RPC_TIMEOUT_SECS", default_value_t = 20)]
    pub rpc_timeout_secs: u64,

    /// Address of the `/metrics` and `/health` endpoint (off when absent).
    #[arg(long, env = "PACT_INDEXER_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// Parses one `--chain` value: every key of [`Key::ALL`].
pub fn parse_chain(spec: &str) -> Result<ChainSpec, ChainSpecError> {
    ChainSpec::parse(spec, Key::ALL)
}

impl Cli {
    /// The follower settings of `spec`: contracts and start block from its deployment file.
    pub fn follower_config(&self, spec: &ChainSpec) -> IndexerResult<FollowerConfig> {
        let dep = Deployment::load(&spec.deployment)?;
        let contracts = contracts_of(&dep);
        if contracts.is_empty() {
            return Err(IndexerError::Config(format!(
                "{}: no indexable contract (token, escrow, identity registries or Lites) in the deployment file",
                spec.deployment.display()
            )));
        }
        let start = spec.start.or(dep.start_block()).unwrap_or(0);
        let mut cfg = FollowerConfig::new(dep.chain_id, spec.rpc.as_str(), contracts, start);
        cfg.finality = spec.finality;
        cfg.poll_interval = Duration::from_millis(self.poll_ms);
        cfg.concurrency = self.concurrency.max(1);
        cfg.max_range = self.max_range.max(1);
        cfg.request_timeout = Duration::from_secs(self.rpc_timeout_secs.max(1));
        Ok(cfg)
    }
}

/// The indexable contracts of a deployment.
pub fn contracts_of(dep: &Deployment) -> Contracts {
    let mut contracts = Contracts::default();
    if let Some(token) = dep.token {
        contracts.insert(token, ContractKind::Token);
        if let Some(escrow) = dep.escrow {
            contracts.insert(
                escrow,
                ContractKind::Escrow {
                    token,
                    decimals: dep.token_decimals.unwrap_or(6),
                },
            );
        }
    }
    let identity = [
        (dep.identity_registry, IdentityKind::IdentityRegistry),
        (dep.did_registry, IdentityKind::DidRegistry),
        (dep.stake_registry, IdentityKind::StakeRegistry),
        (dep.identity_lite, IdentityKind::IdentityLite),
        (dep.did_lite, IdentityKind::DidLite),
        (dep.staking_lite, IdentityKind::StakingLite),
    ];
    for (address, kind) in identity {
        if let Some(address) = address {
            contracts.insert(address, ContractKind::Identity(kind));
        }
    }
    contracts
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use pact_bindings::Finality;

    fn cli(chains: &[&str]) -> Result<Cli, clap::Error> {
        let mut args = vec!["pact-indexer", "--database-url", "postgres://x/y"];
        for c in chains {
            args.extend(["--chain", c]);
        }
        Cli::try_parse_from(args)
    }

    #[test]
    fn chain_flags_parse_into_specs_and_bad_ones_name_the_flag() {
        let c = cli(&[
            "rpc=http://127.0.0.1:8545,deployment=d/31337.json,confirmations=2,start=7",
            "rpc=http://127.0.0.1:8546,deployment=d/31338.json,finality=finalized",
        ])
        .unwrap();
        assert_eq!(c.chains.len(), 2);
        assert_eq!(c.chains[0].finality, Finality::Confirmations(2));
        assert_eq!(c.chains[0].start, Some(7));
        assert_eq!(c.chains[1].finality, Finality::Finalized);
        assert_eq!(c.chains[1].deployment, std::path::Path::new("d/31338.json"));
        for (spec, want) in [
            ("rpc=http://x", "deployment=<path> is missing"),
            ("rpc=x,deployment=y", "rpc url \"x\" is not a URL"),
            (
                "rpc=http://x,deployment=y,colour=red",
                "unknown key \"colour\"",
            ),
        ] {
            let err = cli(&[spec]).unwrap_err().to_string();
            assert!(
                err.contains("--chain") && err.contains(spec) && err.contains(want),
                "{spec}: {err}"
            );
        }
    }
}
