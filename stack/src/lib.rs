//! Pact's stack supervisor: one way to start the whole system, used by the local stack
//! (`pact-stack up`, behind `scripts/stack`) and by the end-to-end tests (`tests/`).
//!
//! [`Stack::up`] starts, in order and each checked before the next: the home anvil chain and (when
//! configured) the satellite one, the contracts (deployed through the Rust bindings,
//! [`pact_testkit::deploy`], and written as `deployments/<chain_id>.json`), a fresh PostgreSQL
//! database, the indexer (which applies the migrations; ready when it has caught up with both
//! chains' heads), the signer daemons, the relayer, the keeper and the API (ready when
//! `/openapi.json` answers). Every service runs under a [`Supervisor`]: logs in
//! `<dir>/<name>.log` (prefixed on the terminal when echoing), liveness checks, kill (SIGKILL,
//! for crash tests), stop (SIGTERM then SIGKILL) and restart of one process, and a clean
//! shutdown of everything when the stack drops.

pub mod process;

pub use process::{Spec, Supervisor};

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ext::AnvilApi},
    signers::local::PrivateKeySigner,
    transports::http::reqwest,
};
use eyre::{Result, WrapErr, eyre};
use pact_testkit::{
    TestChain, TestDb,
    deploy::{EscrowParams, HomeContracts, HomeIdentity, Lites, Market, write_deployment},
};
use sqlx::PgPool;
use std::{
    future::Future,
    path::PathBuf,
    time::{Duration, Instant},
};

/// Chain id of the home chain.
pub const HOME_ID: u64 = 31337;
/// Chain id of the satellite chain.
pub const SAT_ID: u64 = 31338;
/// Signer daemons configured on the Lites.
pub const SIGNERS: usize = 6;
/// Signatures a batch needs.
pub const THRESHOLD: u8 = 4;
/// anvil's default mnemonic (the local stack's accounts).
pub const MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Which keys the keeper, the relayer and the six signers use.
#[derive(Debug, Clone)]
pub enum Keys {
    /// Fresh random keys, funded with `anvil_setBalance` (so every sender in a test says who
    /// acted).
    Random,
    /// Dev accounts of the chains' mnemonic: signers `signers..signers + 6`, then the relayer,
    /// then the keeper (the local stack: #4-#9, #10, #11).
    Accounts {
        /// Index of the first signer.
        signers: usize,
    },
}

/// Which database the stack writes to.
#[derive(Debug, Clone)]
pub enum Database {
    /// A fresh, randomly named database, dropped with the stack.
    Fresh,
    /// Database `name`, recreated empty at start and kept afterwards (to inspect with `psql`).
    Named(String),
}

/// Token balances at start.
#[derive(Debug, Clone)]
pub struct Funding {
    /// Dev accounts receiving `amount` base units of the test token.
    pub accounts: Vec<usize>,
    /// Base units each.
    pub amount: U256,
    /// Whether each of them approves the escrow for an unlimited amount.
    pub approve_escrow: bool,
}

/// Escrow roles as dev account indices.
#[derive(Debug, Clone, Copy)]
pub struct Roles {
    /// Owner (also the deployer: account 0 deploys everything).
    pub owner: usize,
    /// Arbiter.
    pub arbiter: usize,
    /// Fee treasury.
    pub treasury: usize,
}

/// Which services [`Stack::up`] starts.
#[derive(Debug, Clone, Copy)]
pub struct Services {
    /// `pact-indexer` over every chain (started first: it applies the migrations).
    pub indexer: bool,
    /// Signer daemons started (indices `0..signers` of the six configured).
    pub signers: usize,
    /// `pact-relayer relay` landing the signed batches on the satellite.
    pub relay: bool,
    /// `pact-relayer keeper` firing due 72-hour steps.
    pub keeper: bool,
    /// `pact-api`.
    pub api: bool,
}

/// Everything [`Stack::up`] needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where logs and deployment files go (created).
    pub dir: PathBuf,
    /// Where the deployment files go (default: `dir`).
    pub deployments_dir: Option<PathBuf>,
    /// Print every process's output on the terminal, prefixed by its name.
    pub echo: bool,
    /// Fixed ports (home anvil, satellite anvil, API, indexer metrics); free ones when `None`.
    pub home_port: Option<u16>,
    /// See [`Self::home_port`].
    pub sat_port: Option<u16>,
    /// See [`Self::home_port`].
    pub api_port: Option<u16>,
    /// Indexer `/metrics`; off when `None`.
    pub metrics_port: Option<u16>,
    /// A satellite chain with the Lites, the identity registries on the home chain.
    pub satellite: bool,
    /// Dev accounts per chain (anvil's default is 10).
    pub accounts: usize,
    /// Seconds per block once deployed (interval mining); automine when `None`.
    pub block_time: Option<u64>,
    /// Unbonding delay of the stake registry, seconds.
    pub unbond_secs: u64,
    /// Escrow roles.
    pub roles: Roles,
    /// Token balances at start.
    pub funding: Funding,
    /// Keys of the keeper, relayer and signers.
    pub keys: Keys,
    /// The database.
    pub database: Database,
    /// Services to start.
    pub services: Services,
    /// `--heartbeat-blocks` of the signer daemons (their default when `None`).
    pub heartbeat_blocks: Option<u64>,
    /// Directory of the service binaries (default: next to the running executable).
    pub bin_dir: Option<PathBuf>,
}

impl Config {
    /// The end-to-end tests' settings: one home chain under automine in a fresh temp directory,
    /// roles owner 0 / arbiter 9 / treasury 5, buyers 1 and 3 holding 1,000 USDT with the escrow
    /// approved, random service keys, a fresh database; indexer, keeper and API.
    pub fn test(name: &str) -> Self {
        Self {
            dir: std::env::temp_dir()
                .join(format!("pact-e2e-{name}-{:08x}", rand::random::<u32>())),
            deployments_dir: None,
            echo: false,
            home_port: None,
            sat_port: None,
            api_port: None,
            metrics_port: None,
            satellite: false,
            accounts: 10,
            block_time: None,
            unbond_secs: 3_600,
            roles: Roles {
                owner: 0,
                arbiter: 9,
                treasury: 5,
            },
            funding: Funding {
                accounts: vec![1, 3],
                amount: U256::from(1_000_000_000u64),
                approve_escrow: true,
            },
            keys: Keys::Random,
            database: Database::Fresh,
            services: Services {
                indexer: true,
                signers: 0,
                relay: false,
                keeper: true,
                api: true,
            },
            heartbeat_blocks: None,
            bin_dir: None,
        }
    }
}

/// Polls `f` every 50 ms until it yields a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        eyre::ensure!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `--chain`/`--satellite` value of the chain at `rpc` with deployment file `deployment`.
pub fn chain_spec(rpc: &str, deployment: &std::path::Path) -> Result<String> {
    let rpc = pact_bindings::chain_spec::parse_rpc_url(rpc)?;
    Ok(pact_bindings::ChainSpec::new(rpc, deployment).to_string())
}

/// A free loopback TCP port.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The directory of the workspace's binaries: next to the running executable (`target/debug`),
/// or its parent when that is a test's `deps/` directory.
pub fn default_bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or_else(|| eyre!("no target dir"))?;
    Ok(if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent()
            .ok_or_else(|| eyre!("no target dir"))?
            .to_path_buf()
    } else {
        dir.to_path_buf()
    })
}

/// The indexer cursor of `chain_id` in `pool` (-1 before the first commit or the migrations).
pub async fn cursor_of(pool: &PgPool, chain_id: u64) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT block_number FROM indexer_cursors WHERE chain_id = $1")
        .bind(chain_id as i64)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
        .unwrap_or(-1)
}

/// Chains, contracts, database and processes. Processes stop, chains and (fresh) database go
/// when it drops.
pub struct Stack {
    /// The settings it was started with.
    pub config: Config,
    /// The service processes.
    pub procs: Supervisor,
    /// The home chain.
    pub home: TestChain,
    /// The satellite chain, when configured.
    pub sat: Option<TestChain>,
    /// The database.
    pub db: TestDb,
    /// A pool on it.
    pub pool: PgPool,
    /// Logs (and, by default, deployment files).
    pub dir: PathBuf,
    /// Home chain deployment file.
    pub home_deployment: PathBuf,
    /// Satellite deployment file.
    pub sat_deployment: Option<PathBuf>,
    /// What was deployed on the home chain.
    pub contracts: HomeContracts,
    /// The Lites on the satellite.
    pub lites: Option<Lites>,
    /// The test token.
    pub usdt: Address,
    /// The escrow.
    pub escrow: Address,
    /// A block at or before the escrow's deployment.
    pub deploy_block: u64,
    /// The keeper's key.
    pub keeper_key: PrivateKeySigner,
    /// The relayer's key.
    pub relayer_key: PrivateKeySigner,
    /// The six signers' keys.
    pub signer_keys: Vec<PrivateKeySigner>,
    /// The API's base URL.
    pub api_url: String,
    api_port: u16,
    bin_dir: PathBuf,
}

impl Stack {
    /// Starts everything `config` names, in order, each step checked (see the crate docs).
    pub async fn up(config: Config) -> Result<Self> {
        std::fs::create_dir_all(&config.dir)?;
        let procs = Supervisor::new(&config.dir, config.echo)?;
        let bin_dir = match &config.bin_dir {
            Some(d) => d.clone(),
            None => default_bin_dir()?,
        };

        // Chains.
        let home = chain(&config, HOME_ID, config.home_port, &procs, "anvil-home").await?;
        let sat = if config.satellite {
            Some(chain(&config, SAT_ID, config.sat_port, &procs, "anvil-satellite").await?)
        } else {
            None
        };

        // Keys.
        let (signer_keys, relayer_key, keeper_key): (Vec<PrivateKeySigner>, _, _) = match config
            .keys
        {
            Keys::Random => (
                (0..SIGNERS).map(|_| PrivateKeySigner::random()).collect(),
                PrivateKeySigner::random(),
                PrivateKeySigner::random(),
            ),
            Keys::Accounts { signers } => {
                eyre::ensure!(
                    signers + SIGNERS + 2 <= config.accounts,
                    "{} accounts: too few for 6 signers from #{signers}, a relayer and a keeper",
                    config.accounts
                );
                (
                    (signers..signers + SIGNERS)
                        .map(|i| home.signer(i))
                        .collect(),
                    home.signer(signers + SIGNERS),
                    home.signer(signers + SIGNERS + 1),
                )
            }
        };

        // Contracts (under automine: one block per transaction, no waiting for intervals).
        let p = home.provider.clone();
        let roles = config.roles;
        let params = EscrowParams::standard(
            home.signer(roles.owner).address(),
            home.signer(roles.arbiter).address(),
            home.signer(roles.treasury).address(),
        );
        let market = Market::deploy(&p, &params).await?;
        for &i in &config.funding.accounts {
            market
                .mint(&p, home.signer(i).address(), config.funding.amount)
                .await?;
            if config.funding.approve_escrow {
                market.approve(&home.provider_for(i), U256::MAX).await?;
            }
        }
        let (identity, lites) = match &sat {
            Some(sat) => {
                let admin = home.signer(roles.owner).address();
                let id = HomeIdentity::deploy(&p, admin, market.token, config.unbond_secs).await?;
                let signers = signer_keys.iter().map(PrivateKeySigner::address).collect();
                let lites = Lites::deploy(&sat.provider, HOME_ID, signers, THRESHOLD).await?;
                (Some(id), Some(lites))
            }
            None => (None, None),
        };
        let contracts = HomeContracts { market, identity };
        let dep_dir = config
            .deployments_dir
            .clone()
            .unwrap_or_else(|| config.dir.clone());
        let home_deployment = write_deployment(&dep_dir, &contracts.deployment(HOME_ID))?;
        let sat_deployment = match &lites {
            Some(l) => Some(write_deployment(&dep_dir, &l.deployment(SAT_ID))?),
            None => None,
        };
        if matches!(config.keys, Keys::Random) {
            fund_gas(&home, keeper_key.address()).await?;
            if let Some(sat) = &sat {
                fund_gas(sat, relayer_key.address()).await?;
            }
        }
        if let Some(secs) = config.block_time {
            home.provider.anvil_set_interval_mining(secs).await?;
            if let Some(sat) = &sat {
                sat.provider.anvil_set_interval_mining(secs).await?;
            }
        }

        // Database.
        let db = match &config.database {
            Database::Fresh => TestDb::new().await?,
            Database::Named(name) => TestDb::recreate(name, true).await?,
        };
        let pool = db.pool().await?;

        let api_port = match config.api_port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut s = Self {
            procs,
            home,
            sat,
            db,
            pool,
            dir: config.dir.clone(),
            home_deployment,
            sat_deployment,
            usdt: contracts.market.token,
            escrow: contracts.market.escrow,
            deploy_block: contracts.market.deploy_block,
            contracts,
            lites,
            keeper_key,
            relayer_key,
            signer_keys,
            api_url: format!("http://127.0.0.1:{api_port}"),
            api_port,
            bin_dir,
            config,
        };

        // Services, in order.
        let services = s.config.services;
        if services.indexer {
            s.start_indexer()?;
            s.wait_indexed().await?;
        }
        for i in 0..services.signers {
            s.start_signer(i)?;
        }
        if services.relay {
            s.start_relay()?;
        }
        if services.keeper {
            s.start_keeper()?;
        }
        if services.api {
            s.start_api().await?;
        }
        s.procs.check_alive()?;
        Ok(s)
    }

    /// Path of binary `name` (built by `cargo build --bins`).
    pub fn bin(&self, name: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(name);
        eyre::ensure!(
            path.exists(),
            "{} not built: run `cargo build --bins -p pact-indexer -p pact-relayer -p pact-api` first",
            path.display()
        );
        Ok(path)
    }

    /// Starts service binary `bin_name` as process `name` (`RUST_LOG=info` unless set in `envs`).
    pub fn start(
        &mut self,
        name: &str,
        bin_name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<()> {
        let mut spec = Spec::new(self.bin(bin_name)?, args).env("RUST_LOG", "info");
        for (k, v) in envs {
            spec = spec.env(k, v);
        }
        self.procs.spawn(name, spec)
    }

    /// Kills process `name` with SIGKILL (no shutdown path runs) and reaps it.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        self.procs.kill(name).map(|_| ())
    }

    /// Stops process `name` cleanly (SIGTERM, then SIGKILL after the grace period).
    pub fn stop(&mut self, name: &str) -> Result<()> {
        self.procs.stop(name).map(|_| ())
    }

    /// Stops process `name` and starts it again with the same command line.
    pub fn restart(&mut self, name: &str) -> Result<()> {
        self.procs.restart(name)
    }

    /// `--chain` values of the indexer.
    fn chain_specs(&self) -> Result<Vec<String>> {
        let mut specs = vec![chain_spec(&self.home.rpc_url(), &self.home_deployment)?];
        if let (Some(sat), Some(dep)) = (&self.sat, &self.sat_deployment) {
            specs.push(chain_spec(&sat.rpc_url(), dep)?);
        }
        Ok(specs)
    }

    /// Starts `pact-indexer` on this stack's database (again, after a kill).
    pub fn start_indexer(&mut self) -> Result<()> {
        self.start_indexer_with(&[])
    }

    /// [`Self::start_indexer`] with extra flags.
    pub fn start_indexer_with(&mut self, extra: &[&str]) -> Result<()> {
        let url = self.db.url.clone();
        self.start_indexer_as("indexer", &url, extra)
    }

    /// Starts an indexer named `name` over this stack's chains into the database at `url`.
    pub fn start_indexer_as(&mut self, name: &str, url: &str, extra: &[&str]) -> Result<()> {
        let specs = self.chain_specs()?;
        let metrics = self
            .config
            .metrics_port
            .filter(|_| name == "indexer")
            .map(|p| format!("127.0.0.1:{p}"));
        let mut args = vec!["--database-url", url, "--poll-ms", "50"];
        for s in &specs {
            args.extend(["--chain", s.as_str()]);
        }
        if let Some(m) = &metrics {
            args.extend(["--metrics-addr", m.as_str()]);
        }
        args.extend(extra);
        self.start(name, "pact-indexer", &args, &[])
    }

    /// Starts `pact-relayer keeper` with the keeper's key.
    pub fn start_keeper(&mut self) -> Result<()> {
        let url = self.db.url.clone();
        self.start_keeper_as("keeper", &url, &[])
    }

    /// Starts `pact-relayer keeper` named `name` with the keeper's key over the home chain, into
    /// the database at `url`, with extra flags (e.g. `--batch 3`).
    pub fn start_keeper_as(&mut self, name: &str, url: &str, extra: &[&str]) -> Result<()> {
        let (rpc, dep) = (
            self.home.rpc_url(),
            self.home_deployment.display().to_string(),
        );
        let key = alloy::hex::encode_prefixed(self.keeper_key.to_bytes());
        let mut args = vec![
            "--database-url",
            url,
            "keeper",
            "--rpc",
            &rpc,
            "--deployment",
            &dep,
            "--poll-ms",
            "200",
        ];
        args.extend(extra);
        self.start(name, "pact-relayer", &args, &[("PACT_RELAYER_KEY", &key)])
    }

    /// The `--satellite` value for this stack's satellite deployment served at `sat_rpc`.
    pub fn satellite_spec_at(&self, sat_rpc: &str) -> Result<String> {
        let dep = self
            .sat_deployment
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        chain_spec(sat_rpc, dep)
    }

    fn sat_rpc(&self) -> Result<String> {
        Ok(self
            .sat
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?
            .rpc_url())
    }

    /// Starts signer daemon `i` (0..6) as process `signer-{i}`.
    pub fn start_signer(&mut self, i: usize) -> Result<()> {
        let (url, sat) = (self.db.url.clone(), self.sat_rpc()?);
        let hb = self.config.heartbeat_blocks.map(|b| b.to_string());
        let mut extra = Vec::new();
        if let Some(hb) = &hb {
            extra.extend(["--heartbeat-blocks", hb.as_str()]);
        }
        self.start_signer_as(&format!("signer-{i}"), i, &url, &sat, &extra)
    }

    /// Starts signer daemon `i` (0..6) named `name` into the database at `url`, serving the
    /// satellite at `sat_rpc` (this stack's satellite deployment file), with extra flags.
    pub fn start_signer_as(
        &mut self,
        name: &str,
        i: usize,
        url: &str,
        sat_rpc: &str,
        extra: &[&str],
    ) -> Result<()> {
        let sat = self.satellite_spec_at(sat_rpc)?;
        let (rpc, home_dep) = (
            self.home.rpc_url(),
            self.home_deployment.display().to_string(),
        );
        let key = alloy::hex::encode_prefixed(self.signer_keys[i].to_bytes());
        let mut args = vec![
            "--database-url",
            url,
            "signer",
            "--home-rpc",
            &rpc,
            "--home-deployment",
            &home_dep,
            "--satellite",
            &sat,
            "--confirmations",
            "2",
            "--poll-ms",
            "50",
        ];
        args.extend(extra);
        self.start(name, "pact-relayer", &args, &[("PACT_SIGNER_KEY", &key)])
    }

    /// Starts `pact-relayer relay` on the satellite.
    pub fn start_relay(&mut self) -> Result<()> {
        let (url, sat) = (self.db.url.clone(), self.sat_rpc()?);
        self.start_relay_as("relay", &url, &sat, &[])
    }

    /// Starts `pact-relayer relay` named `name` with the relayer's key into the database at
    /// `url`, landing batches on the satellite at `sat_rpc`, with extra flags.
    pub fn start_relay_as(
        &mut self,
        name: &str,
        url: &str,
        sat_rpc: &str,
        extra: &[&str],
    ) -> Result<()> {
        let sat = self.satellite_spec_at(sat_rpc)?;
        let key = alloy::hex::encode_prefixed(self.relayer_key.to_bytes());
        let mut args = vec![
            "--database-url",
            url,
            "relay",
            "--satellite",
            &sat,
            "--poll-ms",
            "50",
        ];
        args.extend(extra);
        self.start(name, "pact-relayer", &args, &[("PACT_RELAYER_KEY", &key)])
    }

    /// Starts `pact-api` and waits until it answers.
    pub async fn start_api(&mut self) -> Result<()> {
        let (url, dep) = (
            self.db.url.clone(),
            self.home_deployment.display().to_string(),
        );
        let listen = format!("127.0.0.1:{}", self.api_port);
        let base = self.api_url.clone();
        self.start(
            "api",
            "pact-api",
            &[
                "--database-url",
                &url,
                "--listen",
                &listen,
                "--public-url",
                &base,
                "--deployment",
                &dep,
                "--allow-private-webhooks",
            ],
            &[],
        )?;
        self.wait_http(&format!("{base}/openapi.json")).await
    }

    /// Waits until `url` answers 2xx (30 s).
    pub async fn wait_http(&self, url: &str) -> Result<()> {
        let http = reqwest::Client::new();
        self.wait(url, Duration::from_secs(30), || async {
            let r = http.get(url).send().await.ok()?;
            r.status().is_success().then_some(())
        })
        .await
    }

    /// The last lines of every process log, for failure messages.
    pub fn log_tails(&self) -> String {
        self.procs.log_tails(15)
    }

    /// [`eventually`], with the processes' log tails in the error.
    pub async fn wait<T, F, Fut>(&self, what: &str, timeout: Duration, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        eventually(what, timeout, f)
            .await
            .map_err(|e| e.wrap_err(self.log_tails()))
    }

    /// The indexer's cursor of `chain_id` (-1 before its first commit).
    pub async fn cursor(&self, chain_id: u64) -> i64 {
        cursor_of(&self.pool, chain_id).await
    }

    /// Waits until the indexer has committed every block up to both chains' heads.
    pub async fn wait_indexed(&self) -> Result<()> {
        let mut heads = vec![(HOME_ID, self.home.provider.get_block_number().await?)];
        if let Some(sat) = &self.sat {
            heads.push((SAT_ID, sat.provider.get_block_number().await?));
        }
        for (chain, head) in heads {
            self.wait(
                &format!("the indexer at block {head} of chain {chain}"),
                Duration::from_secs(30),
                || async move { (self.cursor(chain).await >= head as i64).then_some(()) },
            )
            .await?;
        }
        Ok(())
    }

    /// Waits until every migration of `migrations/` is applied in `pool` (by whichever process
    /// started first on that database).
    pub async fn wait_migrated(&self, pool: &PgPool) -> Result<()> {
        let dir = pact_bindings::toolchain::repo_root().join("migrations");
        let want = std::fs::read_dir(&dir)?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count() as i64;
        self.wait("the migrations", Duration::from_secs(30), || async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
                .ok()?;
            (n >= want).then_some(())
        })
        .await
    }

    /// The satellite's deployment file (`identityLite`, `didLite`, `stakingLite`, …).
    pub fn sat_deployment_json(&self) -> Result<serde_json::Value> {
        let path = self
            .sat_deployment
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }

    /// The home chain's deployment file (`escrow`, `identityRegistry`, `didRegistry`, …).
    pub fn home_deployment_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&std::fs::read_to_string(
            &self.home_deployment,
        )?)?)
    }

    /// A second, fresh satellite chain with the same chain id, the three Lites deployed in the
    /// same order by the same account (so at the same addresses, with the same six signers and
    /// threshold) and the relayer's account funded: what a clean run of the relayer lands on.
    pub async fn clean_satellite(&self) -> Result<TestChain> {
        let want = self
            .lites
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        let sat = pact_testkit::anvil(SAT_ID)?;
        let lites =
            Lites::deploy(&sat.provider, HOME_ID, want.signers.clone(), want.threshold).await?;
        for (what, got, want) in [
            ("identityLite", lites.identity, want.identity),
            ("didLite", lites.did, want.did),
            ("stakingLite", lites.staking, want.staking),
        ] {
            eyre::ensure!(
                got == want,
                "{what} of the clean satellite at {got}, not at the deployment's {want}"
            );
        }
        fund_gas(&sat, self.relayer_key.address()).await?;
        Ok(sat)
    }

    /// Stops every process (SIGTERM, then SIGKILL); returns how many.
    pub fn shutdown(&mut self) -> usize {
        self.procs.shutdown()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Processes first, then the chains and database (fields); the log directory of a test
        // stack goes unless the test is failing by panic or PACT_E2E_KEEP asks to keep it.
        self.procs.shutdown();
        if matches!(self.config.database, Database::Fresh) {
            if std::thread::panicking() || std::env::var_os("PACT_E2E_KEEP").is_some() {
                eprintln!("pact e2e logs kept in {}", self.dir.display());
            } else {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}

/// Gives `who` 100 ETH on `chain`.
pub async fn fund_gas(chain: &TestChain, who: Address) -> Result<()> {
    chain
        .provider
        .anvil_set_balance(
            who,
            U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
        )
        .await?;
    Ok(())
}

/// Starts anvil for `chain_id` as `config` says, its output into `<name>.log`, and checks that
/// it answers with the right chain id.
async fn chain(
    config: &Config,
    chain_id: u64,
    port: Option<u16>,
    procs: &Supervisor,
    name: &str,
) -> Result<TestChain> {
    let accounts = config.accounts.to_string();
    let mut chain = pact_testkit::anvil_with(chain_id, |mut a| {
        if let Some(p) = port {
            a = a.port(p);
        }
        a.mnemonic(MNEMONIC)
            .args(["--accounts", accounts.as_str()])
            .keep_stdout()
    })?;
    if let Some(out) = chain.anvil.child_mut().stdout.take() {
        procs.adopt_output(name, out)?;
    }
    let got = chain
        .provider
        .get_chain_id()
        .await
        .wrap_err_with(|| format!("anvil at {} does not answer", chain.rpc_url()))?;
    eyre::ensure!(
        got == chain_id,
        "anvil at {} serves chain {got}",
        chain.rpc_url()
    );
    Ok(chain)
}
