//! Typed configuration of `pact-indexer` from flags and environment.

use crate::{
    IndexerError, IndexerResult,
    decode::{ContractKind, Contracts},
    follower::{Finality, FollowerConfig},
    identity::IdentityKind,
};
use pact_bindings::Deployment;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

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
        required = true
    )]
    pub chains: Vec<String>,

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

/// One `--chain` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// JSON-RPC URL.
    pub rpc: String,
    /// Deployment file.
    pub deployment: PathBuf,
    /// Finality rule.
    pub finality: Finality,
    /// Start block override.
    pub start: Option<u64>,
}

impl ChainSpec {
    /// Parses `rpc=..,deployment=..[,confirmations=n|finality=finalized][,start=n]`.
    pub fn parse(spec: &str) -> IndexerResult<Self> {
        let bad = |msg: String| IndexerError::Config(format!("--chain {spec:?}: {msg}"));
        let (mut rpc, mut deployment, mut finality, mut start) =
            (None, None, Finality::Confirmations(0), None);
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not key=value")))?;
            match k {
                "rpc" => rpc = Some(v.to_string()),
                "deployment" => deployment = Some(PathBuf::from(v)),
                "confirmations" => {
                    finality = Finality::Confirmations(
                        v.parse()
                            .map_err(|_| bad(format!("confirmations {v:?} is not a number")))?,
                    )
                }
                "finality" if v == "finalized" => finality = Finality::FinalizedTag,
                "finality" => {
                    return Err(bad(format!("finality {v:?}: only `finalized` is known")));
                }
                "start" => {
                    start = Some(
                        v.parse()
                            .map_err(|_| bad(format!("start {v:?} is not a block number")))?,
                    )
                }
                _ => {
                    return Err(bad(format!(
                        "unknown key {k:?} (known: rpc, deployment, confirmations, finality, start)"
                    )));
                }
            }
        }
        Ok(Self {
            rpc: rpc.ok_or_else(|| bad("rpc=<url> is missing".into()))?,
            deployment: deployment.ok_or_else(|| bad("deployment=<path> is missing".into()))?,
            finality,
            start,
        })
    }

    /// The follower settings: contracts and start block from the deployment file.
    pub fn follower_config(&self, cli: &Cli) -> IndexerResult<FollowerConfig> {
        let dep =
            Deployment::load(&self.deployment).map_err(|e| IndexerError::Config(e.to_string()))?;
        let contracts = contracts_of(&dep);
        if contracts.is_empty() {
            return Err(IndexerError::Config(format!(
                "{}: no indexable contract (token, escrow, identity registries or Lites) in the deployment file",
                self.deployment.display()
            )));
        }
        let start = self.start.or(dep.start_block()).unwrap_or(0);
        let mut cfg = FollowerConfig::new(dep.chain_id, self.rpc.clone(), contracts, start);
        cfg.finality = self.finality;
        cfg.poll_interval = Duration::from_millis(cli.poll_ms);
        cfg.concurrency = cli.concurrency.max(1);
        cfg.max_range = cli.max_range.max(1);
        cfg.request_timeout = Duration::from_secs(cli.rpc_timeout_secs.max(1));
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

    #[test]
    fn chain_spec_parses_and_names_what_is_wrong() {
        let s = ChainSpec::parse(
            "rpc=http://127.0.0.1:8545,deployment=d/31337.json,confirmations=2,start=7",
        )
        .unwrap();
        assert_eq!(s.rpc, "http://127.0.0.1:8545");
        assert_eq!(s.finality, Finality::Confirmations(2));
        assert_eq!(s.start, Some(7));
        let f = ChainSpec::parse("rpc=x,deployment=y,finality=finalized").unwrap();
        assert_eq!(f.finality, Finality::FinalizedTag);
        for (spec, needle) in [
            ("deployment=y", "rpc=<url> is missing"),
            ("rpc=x", "deployment=<path> is missing"),
            ("rpc=x,deployment=y,confirmations=two", "is not a number"),
            ("rpc=x,deployment=y,colour=red", "unknown key"),
            ("rpc=x,deployment=y,finality=safe", "only `finalized`"),
            ("rpc", "is not key=value"),
        ] {
            let err = ChainSpec::parse(spec).unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }
}
