//! The whole-stack harness shared by the end-to-end scenarios: anvil chain(s) with the contracts
//! deployed through the Rust bindings, a fresh PostgreSQL database, and the real debug binaries
//! (`pact-indexer`, `pact-relayer keeper|signer|relay`, `pact-api`) as processes with their logs
//! in a per-test directory; plus the helpers the scenarios share (time travel, polling, the
//! webhook receiver and its HMAC check, reads of the chain, the database and the API).
//!
//! Accounts (anvil's dev keys): 0 owner/deployer, 1 and 3 buyers, 2 seller, 5 treasury, 7 a
//! third party, 9 arbiter. The keeper, the relayer and the six Lite signers use fresh random keys
//! (funded with `anvil_setBalance`), so every transaction sender in a scenario says who acted.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
    transports::http::reqwest,
};
use axum::{Router, body::Bytes as Body, extract::State, http::HeaderMap, routing::post};
use eyre::{Result, WrapErr, eyre};
use hmac::{Hmac, Mac};
use pact_bindings::{
    did_lite::DIDLite,
    did_registry::DIDRegistry,
    escrow::{IPactEscrow, PactEscrow},
    identity_lite::IdentityLite,
    identity_registry::IdentityRegistry,
    stake_registry::StakeRegistry,
    staking_lite::StakingLite,
    test_usdt::TestUSDT,
};
use pact_testkit::{KillOnDrop, TestChain, TestDb};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgPool;
use std::{
    collections::BTreeMap,
    future::Future,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub const DAY: u64 = 86_400;
pub const HOME_ID: u64 = 31337;
pub const SAT_ID: u64 = 31338;

pub const OWNER: usize = 0;
pub const BUYER: usize = 1;
pub const SELLER: usize = 2;
pub const BUYER2: usize = 3;
pub const TREASURY: usize = 5;
pub const THIRD: usize = 7;
pub const ARBITER: usize = 9;

/// Signer daemons configured on the Lites, and the signatures a batch needs.
pub const SIGNERS: usize = 6;
pub const THRESHOLD: u8 = 4;

/// The escrow settings of every scenario: 1 % fee, 72 h review steps, 7-day arbiter window,
/// default ruling 50/50.
pub fn escrow_config() -> IPactEscrow::Config {
    IPactEscrow::Config {
        feeBps: 100,
        reviewWindow: (3 * DAY) as u32,
        arbiterWindow: (7 * DAY) as u32,
        defaultSellerBps: 5_000,
    }
}

pub use pact_bindings::escrow_enums::state_name;

// ---------------------------------------------------------------------------------------------
// Processes, ports, polling
// ---------------------------------------------------------------------------------------------

/// The workspace's debug binaries (next to the test executable's `deps/` directory; built by
/// `cargo build --bins -p pact-indexer -p pact-relayer -p pact-api`).
pub fn bin(name: &str) -> Result<PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(PathBuf::from)
        .ok_or_else(|| eyre!("no target dir"))?;
    let path = dir.join(name);
    eyre::ensure!(
        path.exists(),
        "{} not built: run `cargo build --bins -p pact-indexer -p pact-relayer -p pact-api` first",
        path.display()
    );
    Ok(path)
}

/// Spawns `bin` with `args` and `envs`, stdout and stderr appended to `log`.
pub fn spawn(
    bin_name: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    log: &Path,
) -> Result<KillOnDrop> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let child = Command::new(bin(bin_name)?)
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .stdout(file.try_clone()?)
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .wrap_err_with(|| format!("spawning {bin_name}"))?;
    Ok(KillOnDrop(child))
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
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

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// Deliveries received: headers and raw body.
pub type Received = Arc<Mutex<Vec<(HeaderMap, Body)>>>;

/// A webhook receiver on a free loopback port answering 200 to every POST on `/hook`.
pub async fn webhook_receiver() -> Result<(String, Received)> {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(r): State<Received>, headers: HeaderMap, body: Body| async move {
                    r.lock().expect("not poisoned").push((headers, body));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, received))
}

/// The receiver's own check of `X-Pact-Signature: sha256=hex(HMAC(secret, timestamp + "." + body))`.
pub fn signature_valid(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        headers.get("x-pact-timestamp"),
        headers.get("x-pact-signature"),
    ) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    sig.to_str().ok()
        == Some(&format!(
            "sha256={}",
            hex::encode(mac.finalize().into_bytes())
        ))
}

// ---------------------------------------------------------------------------------------------
// The API client
// ---------------------------------------------------------------------------------------------

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.parse()?, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.wrap_err("the API answers")?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// A POST that must succeed (2xx).
    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Result<Value> {
        let (s, v) = self.call("POST", path, key, Some(body)).await?;
        eyre::ensure!((200..300).contains(&s), "POST {path}: {s} {v}");
        Ok(v)
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.call("GET", path, None, None).await
    }

    /// `GET /v1/orders/{id}` (the chain projection once funded).
    pub async fn order(&self, id: B256) -> Result<Value> {
        let (s, v) = self.get(&format!("/v1/orders/{id}")).await?;
        eyre::ensure!(s == 200, "GET /v1/orders/{id}: {s} {v}");
        Ok(v)
    }

    /// `GET /v1/orders/{id}/events`, every page, oldest first.
    pub async fn events(&self, id: B256) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/orders/{id}/events?limit=100&cursor={c}"),
                None => format!("/v1/orders/{id}/events?limit=100"),
            };
            let (s, v) = self.get(&path).await?;
            eyre::ensure!(s == 200, "GET {path}: {s} {v}");
            out.extend(v["items"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// Registers an agent; returns (api key, webhook secret if a URL was given).
    pub async fn register(
        &self,
        handle: &str,
        webhook: Option<&str>,
    ) -> Result<(String, Option<String>)> {
        let mut body = json!({ "handle": handle, "display_name": handle });
        if let Some(url) = webhook {
            body["webhook_url"] = json!(url);
        }
        let v = self.post("/v1/agents/register", None, body).await?;
        Ok((
            v["api_key"]
                .as_str()
                .ok_or_else(|| eyre!("no api_key: {v}"))?
                .to_string(),
            v["webhook_secret"].as_str().map(str::to_string),
        ))
    }

    /// Binds `wallet`'s address to the agent by signed challenge.
    pub async fn bind(&self, key: &str, wallet: &PrivateKeySigner) -> Result<()> {
        let c = self
            .post(
                "/v1/agents/me/challenges",
                Some(key),
                json!({ "address": wallet.address().to_string() }),
            )
            .await?;
        let message = c["message"]
            .as_str()
            .ok_or_else(|| eyre!("no message: {c}"))?;
        let sig = wallet.sign_message_sync(message.as_bytes())?;
        self.post(
            "/v1/agents/me/addresses",
            Some(key),
            json!({ "nonce": c["nonce"], "signature": format!("0x{}", hex::encode(sig.as_bytes())) }),
        )
        .await?;
        Ok(())
    }
}

/// `(event, state_after)` of an audit trail.
pub fn trail_shape(events: &[Value]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_string(),
                e["state_after"].as_str().map(str::to_string),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Deployment
// ---------------------------------------------------------------------------------------------

/// Gives `who` 100 ETH on `chain`.
pub async fn fund_gas(chain: &TestChain, who: Address) -> Result<()> {
    let _: Value = chain
        .provider
        .raw_request(
            "anvil_setBalance".into(),
            (
                who,
                U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
            ),
        )
        .await?;
    Ok(())
}

/// Waits for the receipt of `hash` (anvil automines during `eth_sendRawTransaction`) and
/// requires success.
pub async fn mined<P: Provider>(p: &P, hash: B256) -> Result<TransactionReceipt> {
    for _ in 0..500 {
        if let Some(r) = p.get_transaction_receipt(hash).await? {
            eyre::ensure!(r.status(), "transaction {hash} reverted");
            return Ok(r);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(eyre!("transaction {hash} not mined"))
}

/// Sends a contract call and returns its successful receipt.
macro_rules! tx {
    ($p:expr, $call:expr) => {{
        let pending = $call
            .send()
            .await
            .map_err(|e| eyre::eyre!("{}: {e}", stringify!($call)))?;
        $crate::stack::mined(&$p, *pending.tx_hash()).await?
    }};
}
pub(crate) use tx;

/// The identity contracts the scenarios read (all three registries and Lites are deployed).
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    pub registry: Address,
    pub identity_lite: Address,
}

/// Which processes a [`Stack`] starts and what it deploys.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Names the log directory.
    pub name: &'static str,
    pub indexer: bool,
    pub keeper: bool,
    pub api: bool,
    /// A satellite chain with the Lites (6 signers, threshold 4), the identity registries on the
    /// home chain, and the indexer following both chains.
    pub satellite: bool,
    /// Signer daemons started (indices 0..signers of the six configured).
    pub signers: usize,
    /// The relayer landing the signed batches on the satellite.
    pub relay: bool,
}

impl Opts {
    /// Indexer, keeper and API over one chain.
    pub fn escrow(name: &'static str) -> Self {
        Self {
            name,
            indexer: true,
            keeper: true,
            api: true,
            satellite: false,
            signers: 0,
            relay: false,
        }
    }
}

/// Chains, database and processes of one scenario. Processes are killed when it drops.
pub struct Stack {
    procs: BTreeMap<String, KillOnDrop>,
    pub home: TestChain,
    pub sat: Option<TestChain>,
    pub db: TestDb,
    pub pool: PgPool,
    pub dir: PathBuf,
    pub home_deployment: PathBuf,
    pub sat_deployment: Option<PathBuf>,
    pub usdt: Address,
    pub escrow: Address,
    pub deploy_block: u64,
    pub identity: Option<Identity>,
    pub keeper_key: PrivateKeySigner,
    pub relayer_key: PrivateKeySigner,
    pub signer_keys: Vec<PrivateKeySigner>,
    pub api: Api,
    api_port: u16,
    /// One provider per dev account, so that every transaction of an account goes through one
    /// nonce manager.
    home_providers: Vec<DynProvider>,
}

impl Stack {
    /// Deploys the contracts, creates the database and starts the processes `opts` names
    /// (the indexer first: the others start once it has applied the migrations).
    pub async fn up(opts: Opts) -> Result<Self> {
        let home = pact_testkit::anvil(HOME_ID)?;
        let sat = if opts.satellite {
            Some(pact_testkit::anvil(SAT_ID)?)
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "pact-e2e-{}-{:08x}",
            opts.name,
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)?;

        // Escrow and token on the home chain.
        let p = home.provider.clone();
        let deploy_block = p.get_block_number().await?;
        let usdt = *TestUSDT::deploy(&p, "Tether USD".into(), "USDT".into(), 6)
            .await?
            .address();
        let escrow = *PactEscrow::deploy(
            &p,
            usdt,
            home.signer(OWNER).address(),
            home.signer(ARBITER).address(),
            home.signer(TREASURY).address(),
            1_000,
            escrow_config(),
        )
        .await?
        .address();
        // Buyers hold 1,000 USDT each and approved the escrow once.
        for buyer in [BUYER, BUYER2] {
            let who = home.signer(buyer).address();
            tx!(
                p,
                TestUSDT::new(usdt, p.clone()).mint(who, U256::from(1_000_000_000u64))
            );
            let bp = home.provider_for(buyer);
            tx!(
                bp,
                TestUSDT::new(usdt, bp.clone()).approve(escrow, U256::MAX)
            );
        }
        let mut home_json = json!({
            "chainId": HOME_ID, "token": usdt, "tokenDecimals": 6, "escrow": escrow,
            "deployBlock": deploy_block,
        });

        let signer_keys: Vec<PrivateKeySigner> =
            (0..SIGNERS).map(|_| PrivateKeySigner::random()).collect();
        let (mut identity, mut sat_deployment) = (None, None);
        if let Some(sat) = &sat {
            let id_block = p.get_block_number().await?;
            let admin = home.signer(OWNER).address();
            let registry = *IdentityRegistry::deploy(&p, admin).await?.address();
            let did_registry = *DIDRegistry::deploy(&p).await?.address();
            let stake_registry = *StakeRegistry::deploy(&p, usdt, registry, 3_600, admin)
                .await?
                .address();
            let sp = sat.provider.clone();
            let sat_block = sp.get_block_number().await?;
            let signers: Vec<Address> = signer_keys.iter().map(PrivateKeySigner::address).collect();
            let home_id = U256::from(HOME_ID);
            let (identity_lite, did_lite, staking_lite) =
                deploy_lites(&sp, home_id, signers.clone()).await?;
            home_json["identityRegistry"] = json!(registry);
            home_json["didRegistry"] = json!(did_registry);
            home_json["stakeRegistry"] = json!(stake_registry);
            home_json["stakeToken"] = json!(usdt);
            home_json["identityDeployBlock"] = json!(id_block);
            let path = dir.join(format!("{SAT_ID}.json"));
            std::fs::write(
                &path,
                json!({
                    "chainId": SAT_ID, "identityLite": identity_lite, "didLite": did_lite,
                    "stakingLite": staking_lite, "homeChainId": HOME_ID, "signers": signers,
                    "threshold": THRESHOLD, "identityDeployBlock": sat_block,
                })
                .to_string(),
            )?;
            sat_deployment = Some(path);
            identity = Some(Identity {
                registry,
                identity_lite,
            });
        }
        let home_deployment = dir.join(format!("{HOME_ID}.json"));
        std::fs::write(&home_deployment, home_json.to_string())?;

        let keeper_key = PrivateKeySigner::random();
        fund_gas(&home, keeper_key.address()).await?;
        let relayer_key = PrivateKeySigner::random();
        if let Some(sat) = &sat {
            fund_gas(sat, relayer_key.address()).await?;
        }

        let db = TestDb::new().await?;
        let pool = db.pool().await?;
        let api_port = free_port()?;
        let mut s = Self {
            procs: BTreeMap::new(),
            home,
            sat,
            db,
            pool,
            dir,
            home_deployment,
            sat_deployment,
            usdt,
            escrow,
            deploy_block,
            identity,
            keeper_key,
            relayer_key,
            signer_keys,
            api: Api {
                base: format!("http://127.0.0.1:{api_port}"),
                http: reqwest::Client::new(),
            },
            api_port,
            home_providers: Vec::new(),
        };
        s.home_providers = (0..10)
            .map(|i| {
                if i == OWNER {
                    s.home.provider.clone()
                } else {
                    s.home.provider_for(i)
                }
            })
            .collect();
        if opts.indexer {
            s.start_indexer()?;
            s.wait_indexed().await?;
        }
        if opts.keeper {
            s.start_keeper()?;
        }
        for i in 0..opts.signers {
            s.start_signer(i)?;
        }
        if opts.relay {
            s.start_relay()?;
        }
        if opts.api {
            s.start_api().await?;
        }
        Ok(s)
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    fn start(
        &mut self,
        name: &str,
        bin_name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<()> {
        let child = spawn(bin_name, args, envs, &self.log(name))?;
        self.procs.insert(name.to_string(), child);
        Ok(())
    }

    /// Kills process `name` with SIGKILL (no shutdown path runs) and reaps it.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        let mut p = self
            .procs
            .remove(name)
            .ok_or_else(|| eyre!("{name} is not running"))?;
        p.kill()?;
        Ok(())
    }

    /// `--chain` values of the indexer.
    fn chain_specs(&self) -> Vec<String> {
        let mut specs = vec![format!(
            "rpc={},deployment={}",
            self.home.rpc_url(),
            self.home_deployment.display()
        )];
        if let (Some(sat), Some(dep)) = (&self.sat, &self.sat_deployment) {
            specs.push(format!(
                "rpc={},deployment={}",
                sat.rpc_url(),
                dep.display()
            ));
        }
        specs
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
        let specs = self.chain_specs();
        let mut args = vec!["--database-url", url, "--poll-ms", "50"];
        for s in &specs {
            args.extend(["--chain", s.as_str()]);
        }
        args.extend(extra);
        self.start(name, "pact-indexer", &args, &[])
    }

    /// Starts `pact-relayer keeper` with the keeper's key.
    pub fn start_keeper(&mut self) -> Result<()> {
        let (url, rpc, dep) = (
            self.db.url.clone(),
            self.home.rpc_url(),
            self.home_deployment.display().to_string(),
        );
        let key = alloy::hex::encode_prefixed(self.keeper_key.to_bytes());
        self.start(
            "keeper",
            "pact-relayer",
            &[
                "--database-url",
                &url,
                "keeper",
                "--rpc",
                &rpc,
                "--deployment",
                &dep,
                "--poll-ms",
                "200",
            ],
            &[("PACT_RELAYER_KEY", &key)],
        )
    }

    fn satellite_spec(&self) -> Result<String> {
        let sat = self
            .sat
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        self.satellite_spec_at(&sat.rpc_url())
    }

    /// Starts signer daemon `i` (0..6) as process `signer-{i}`.
    pub fn start_signer(&mut self, i: usize) -> Result<()> {
        let (url, rpc, dep, sat) = (
            self.db.url.clone(),
            self.home.rpc_url(),
            self.home_deployment.display().to_string(),
            self.satellite_spec()?,
        );
        let key = alloy::hex::encode_prefixed(self.signer_keys[i].to_bytes());
        self.start(
            &format!("signer-{i}"),
            "pact-relayer",
            &[
                "--database-url",
                &url,
                "signer",
                "--home-rpc",
                &rpc,
                "--home-deployment",
                &dep,
                "--satellite",
                &sat,
                "--confirmations",
                "2",
                "--poll-ms",
                "50",
            ],
            &[("PACT_SIGNER_KEY", &key)],
        )
    }

    /// Starts `pact-relayer relay` on the satellite.
    pub fn start_relay(&mut self) -> Result<()> {
        let (url, sat) = (self.db.url.clone(), self.satellite_spec()?);
        let key = alloy::hex::encode_prefixed(self.relayer_key.to_bytes());
        self.start(
            "relay",
            "pact-relayer",
            &[
                "--database-url",
                &url,
                "relay",
                "--satellite",
                &sat,
                "--poll-ms",
                "50",
            ],
            &[("PACT_RELAYER_KEY", &key)],
        )
    }

    /// Starts `pact-api` and waits until it answers.
    pub async fn start_api(&mut self) -> Result<()> {
        let (url, dep) = (
            self.db.url.clone(),
            self.home_deployment.display().to_string(),
        );
        let listen = format!("127.0.0.1:{}", self.api_port);
        let base = self.api.base.clone();
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
        self.wait("the API", Duration::from_secs(30), || async {
            let r = reqwest::get(format!("{base}/openapi.json")).await.ok()?;
            r.status().is_success().then_some(())
        })
        .await
    }

    /// The last lines of every process log, for failure messages.
    pub fn log_tails(&self) -> String {
        let mut out = format!("logs in {}:", self.dir.display());
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        for p in logs {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "\n--- {} (last 15 lines)\n{}",
                p.file_name().unwrap_or_default().to_string_lossy(),
                lines[lines.len().saturating_sub(15)..].join("\n")
            ));
        }
        out
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

    // ------------------------------------------------------------------------- chain

    /// Home provider signing with dev account `i`.
    pub fn hp(&self, i: usize) -> DynProvider {
        self.home_providers[i].clone()
    }

    pub fn addr(&self, i: usize) -> Address {
        self.home.signer(i).address()
    }

    /// The escrow as seen (and called) by dev account `i`.
    pub fn escrow_as(&self, i: usize) -> PactEscrow::PactEscrowInstance<DynProvider> {
        PactEscrow::new(self.escrow, self.hp(i))
    }

    pub async fn order(&self, id: B256) -> Result<IPactEscrow::Order> {
        Ok(self.escrow_as(OWNER).getOrder(id).call().await?)
    }

    pub async fn balance(&self, who: Address) -> Result<U256> {
        Ok(TestUSDT::new(self.usdt, self.home.provider.clone())
            .balanceOf(who)
            .call()
            .await?)
    }

    pub async fn accrued_fees(&self) -> Result<U256> {
        Ok(self.escrow_as(OWNER).accruedFees().call().await?)
    }

    /// Latest home block timestamp.
    pub async fn now(&self) -> Result<u64> {
        Ok(self
            .home
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| eyre!("no latest block"))?
            .header
            .timestamp)
    }

    /// Timestamp of home block `number`.
    pub async fn block_time(&self, number: Option<u64>) -> Result<u64> {
        let n = number.ok_or_else(|| eyre!("a pending receipt"))?;
        Ok(self
            .home
            .provider
            .get_block_by_number(n.into())
            .await?
            .ok_or_else(|| eyre!("no block {n}"))?
            .header
            .timestamp)
    }

    /// Moves home time forward by `secs` and mines a block; returns its number.
    pub async fn warp(&self, secs: u64) -> Result<u64> {
        let p = &self.home.provider;
        let _: Value = p
            .raw_request("evm_increaseTime".into(), (U256::from(secs),))
            .await?;
        let _: Value = p.raw_request("evm_mine".into(), ()).await?;
        Ok(p.get_block_number().await?)
    }

    /// Mines `n` empty home blocks.
    pub async fn mine_home(&self, n: u64) -> Result<u64> {
        let p = &self.home.provider;
        let _: Value = p.raw_request("anvil_mine".into(), (U256::from(n),)).await?;
        Ok(p.get_block_number().await?)
    }

    /// Who sent transaction `hash`.
    pub async fn tx_from(&self, hash: B256) -> Result<Address> {
        Ok(self
            .home
            .provider
            .get_transaction_by_hash(hash)
            .await?
            .ok_or_else(|| eyre!("no transaction {hash}"))?
            .inner
            .signer())
    }

    /// Funds order `id` from `buyer` for the seller account, `amount` base units, delivery
    /// deadline `deliver_by`; returns the receipt.
    pub async fn fund(
        &self,
        buyer: usize,
        id: B256,
        amount: u64,
        deliver_by: u64,
    ) -> Result<TransactionReceipt> {
        let p = self.hp(buyer);
        Ok(tx!(
            p,
            PactEscrow::new(self.escrow, p.clone()).fund(
                id,
                self.addr(SELLER),
                U256::from(amount),
                deliver_by,
                keccak256(format!("terms of {id}")),
            )
        ))
    }

    /// The seller proves delivery of `id` by the work's hash alone (`submitProofHash`, no URI).
    pub async fn prove_hash(&self, id: B256, work: &str) -> Result<TransactionReceipt> {
        let p = self.hp(SELLER);
        Ok(tx!(
            p,
            PactEscrow::new(self.escrow, p.clone()).submitProofHash(id, keccak256(work))
        ))
    }

    /// The seller proves delivery of `id` (hash and URI).
    pub async fn prove(&self, id: B256, work: &str) -> Result<TransactionReceipt> {
        let p = self.hp(SELLER);
        Ok(tx!(
            p,
            PactEscrow::new(self.escrow, p.clone()).submitProof(
                id,
                keccak256(work),
                format!("ipfs://{work}")
            )
        ))
    }

    // ------------------------------------------------------------------------- database

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

    /// Waits until the keeper has finished a pass that evaluated the chain at or after home
    /// block `block`: mines a block, waits for the keeper's scan cursor to reach it (the start
    /// of a pass that sees it), then does the same once more, since a pass starts only after the
    /// previous one (and its transactions) ended.
    pub async fn keeper_passed(&self, block: u64) -> Result<()> {
        self.keeper_passed_in(&self.pool, block).await
    }

    /// [`Self::keeper_passed`] for a keeper writing to `pool` (another database than the stack's).
    pub async fn keeper_passed_in(&self, pool: &PgPool, block: u64) -> Result<()> {
        for _ in 0..2 {
            let next = self.mine_home(1).await?;
            eyre::ensure!(next > block);
            self.wait(
                &format!("a keeper pass past block {block}"),
                Duration::from_secs(20),
                || async move {
                    let b: Option<i64> =
                        sqlx::query_scalar("SELECT block_number FROM relayer_keeper_cursors")
                            .fetch_optional(pool)
                            .await
                            .ok()
                            .flatten();
                    (b >= Some(next as i64)).then_some(())
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Waits until the API shows order `id` in `state`; returns the order.
    pub async fn api_state(&self, id: B256, state: &str) -> Result<Value> {
        self.wait(
            &format!("{state} on the API for {id}"),
            Duration::from_secs(30),
            || async move {
                let v = self.api.order(id).await.ok()?;
                (v["state"] == state).then_some(v)
            },
        )
        .await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Processes first (KillOnDrop), then the directory, unless the test is failing by
        // panic or PACT_E2E_KEEP asks to keep the logs.
        self.procs.clear();
        if std::thread::panicking() || std::env::var_os("PACT_E2E_KEEP").is_some() {
            eprintln!("pact e2e logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
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

/// Every row of `table` as JSON text, in primary-key order.
pub async fn table_rows(pool: &PgPool, table: &str, order_by: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t)::text FROM {table} t ORDER BY {order_by}"
    ))
    .fetch_all(pool)
    .await?)
}

/// Bytes of a hex `0x…` string from the API.
pub fn b256(v: &Value) -> Result<B256> {
    Ok(v.as_str()
        .ok_or_else(|| eyre!("not a string: {v}"))?
        .parse()?)
}

/// A random order id in `buyer`'s namespace (the escrow refuses anyone else's).
pub fn new_id(buyer: Address) -> B256 {
    pact_bindings::random_order_id(buyer)
}

// ---------------------------------------------------------------------------------------------
// Crash scenarios: mining control, second runs of a process against another database or chain
// ---------------------------------------------------------------------------------------------

/// Switches automatic mining of `chain` on or off; while off, transactions wait in the node's
/// pool until [`mine_one`].
pub async fn set_automine(chain: &TestChain, on: bool) -> Result<()> {
    let _: Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (on,))
        .await?;
    Ok(())
}

/// Mines one block on `chain` with whatever waits in its pool.
pub async fn mine_one(chain: &TestChain) -> Result<()> {
    let _: Value = chain.provider.raw_request("evm_mine".into(), ()).await?;
    Ok(())
}

/// Whether transaction `hash` waits in `chain`'s pool (known to the node, not mined).
pub async fn in_pool(chain: &TestChain, hash: B256) -> Result<bool> {
    Ok(chain
        .provider
        .get_transaction_by_hash(hash)
        .await?
        .is_some_and(|t| t.block_number.is_none()))
}

impl Stack {
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
    fn satellite_spec_at(&self, sat_rpc: &str) -> Result<String> {
        let dep = self
            .sat_deployment
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        Ok(format!("rpc={sat_rpc},deployment={}", dep.display()))
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

    /// The satellite's deployment file (`identityLite`, `didLite`, `stakingLite`, …).
    pub fn sat_deployment_json(&self) -> Result<Value> {
        let path = self
            .sat_deployment
            .as_ref()
            .ok_or_else(|| eyre!("no satellite in this stack"))?;
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }

    /// The home chain's deployment file (`escrow`, `identityRegistry`, `didRegistry`, …).
    pub fn home_deployment_json(&self) -> Result<Value> {
        Ok(serde_json::from_str(&std::fs::read_to_string(
            &self.home_deployment,
        )?)?)
    }

    /// A second, fresh satellite chain with the same chain id, the three Lites deployed in the
    /// same order by the same account (so at the same addresses, with the same six signers and
    /// threshold) and the relayer's account funded: what a clean run of the relayer lands on.
    pub async fn clean_satellite(&self) -> Result<TestChain> {
        let sat = pact_testkit::anvil(SAT_ID)?;
        let sp = sat.provider.clone();
        let signers: Vec<Address> = self
            .signer_keys
            .iter()
            .map(PrivateKeySigner::address)
            .collect();
        let home_id = U256::from(HOME_ID);
        let (identity_lite, did_lite, staking_lite) = deploy_lites(&sp, home_id, signers).await?;
        let dep = self.sat_deployment_json()?;
        for (key, addr) in [
            ("identityLite", identity_lite),
            ("didLite", did_lite),
            ("stakingLite", staking_lite),
        ] {
            eyre::ensure!(
                dep[key].as_str().and_then(|a| a.parse::<Address>().ok()) == Some(addr),
                "{key} of the clean satellite at {addr}, not at the deployment's {}",
                dep[key]
            );
        }
        fund_gas(&sat, self.relayer_key.address()).await?;
        Ok(sat)
    }
}

impl Stack {
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
}

/// The three Lites on a satellite, for `signers` at [`THRESHOLD`]: (identity, DID, staking).
async fn deploy_lites<P: Provider>(
    sp: &P,
    home_id: U256,
    signers: Vec<Address>,
) -> Result<(Address, Address, Address)> {
    let identity_lite = *IdentityLite::deploy(sp, home_id, signers.clone(), THRESHOLD)
        .await?
        .address();
    let did_lite = *DIDLite::deploy(sp, home_id, signers.clone(), THRESHOLD)
        .await?
        .address();
    let staking_lite = *StakingLite::deploy(sp, home_id, signers, THRESHOLD)
        .await?
        .address();
    Ok((identity_lite, did_lite, staking_lite))
}
