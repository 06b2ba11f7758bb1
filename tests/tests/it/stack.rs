//! The whole-stack harness shared by the end-to-end scenarios, over the stack supervisor
//! ([`pact_stack::Stack`]: anvil chain(s) with the contracts deployed through the Rust bindings,
//! a fresh PostgreSQL database, and the real debug binaries — `pact-indexer`,
//! `pact-relayer keeper|signer|relay`, `pact-api` — as supervised processes with their logs in a
//! per-test directory); plus the helpers the scenarios share (time travel, polling, the webhook
//! receiver and its HMAC check, reads of the chain, the database and the API).
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
use pact_bindings::escrow::{IPactEscrow, PactEscrow};
use pact_bindings::test_usdt::TestUSDT;
use pact_testkit::{AnvilApi, TestChain};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgPool;
use std::{
    ops::{Deref, DerefMut},
    sync::{Arc, Mutex},
    time::Duration,
};

pub use pact_stack::{HOME_ID, SAT_ID, SIGNERS, THRESHOLD, cursor_of};
pub use pact_testkit::deploy::mined;

pub const DAY: u64 = 86_400;

pub const OWNER: usize = 0;
pub const BUYER: usize = 1;
pub const SELLER: usize = 2;
pub const BUYER2: usize = 3;
pub const THIRD: usize = 7;
pub const ARBITER: usize = 9;

pub use pact_bindings::escrow_enums::state_name;

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

/// Sends a contract call and returns its successful receipt.
macro_rules! tx {
    ($p:expr, $call:expr) => {{ pact_testkit::send_tx!($p, $call) }};
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

/// One scenario's stack: the supervisor's [`pact_stack::Stack`] (chains, contracts, database,
/// processes; reached through `Deref`) plus the scenario's API client and per-account providers.
pub struct Stack {
    inner: pact_stack::Stack,
    pub api: Api,
    pub identity: Option<Identity>,
    /// One provider per dev account, so that every transaction of an account goes through one
    /// nonce manager.
    home_providers: Vec<DynProvider>,
}

impl Deref for Stack {
    type Target = pact_stack::Stack;
    fn deref(&self) -> &pact_stack::Stack {
        &self.inner
    }
}

impl DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut pact_stack::Stack {
        &mut self.inner
    }
}

impl Stack {
    /// Deploys the contracts, creates the database and starts the processes `opts` names
    /// (the indexer first: the others start once it has caught up with the chains).
    pub async fn up(opts: Opts) -> Result<Self> {
        let mut config = pact_stack::Config::test(opts.name);
        config.satellite = opts.satellite;
        config.services = pact_stack::Services {
            indexer: opts.indexer,
            signers: opts.signers,
            relay: opts.relay,
            keeper: opts.keeper,
            api: opts.api,
        };
        let inner = pact_stack::Stack::up(config).await?;
        let identity = match (&inner.contracts.identity, &inner.lites) {
            (Some(id), Some(l)) => Some(Identity {
                registry: id.registry,
                identity_lite: l.identity,
            }),
            _ => None,
        };
        let home_providers = (0..10)
            .map(|i| {
                if i == OWNER {
                    inner.home.provider.clone()
                } else {
                    inner.home.provider_for(i)
                }
            })
            .collect();
        Ok(Self {
            api: Api {
                base: inner.api_url.clone(),
                http: reqwest::Client::new(),
            },
            identity,
            home_providers,
            inner,
        })
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
        p.anvil_increase_time(secs).await?;
        p.evm_mine(None).await?;
        Ok(p.get_block_number().await?)
    }

    /// Mines `n` empty home blocks.
    pub async fn mine_home(&self, n: u64) -> Result<u64> {
        let p = &self.home.provider;
        p.anvil_mine(Some(n), None).await?;
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

/// Every row of `table` as JSON text, in primary-key order, without the surrogate `seq`
/// (`escrow_events.seq` comes from a sequence: a transaction killed mid-way consumes values, so
/// after a crash the numbers have gaps; only their order is meaningful, and the rows are compared
/// in that order).
pub async fn table_rows(pool: &PgPool, table: &str, order_by: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT (to_jsonb(t) - 'seq')::text FROM {table} t ORDER BY {order_by}"
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
    chain.provider.anvil_set_auto_mine(on).await?;
    Ok(())
}

/// Mines one block on `chain` with whatever waits in its pool.
pub async fn mine_one(chain: &TestChain) -> Result<()> {
    chain.provider.evm_mine(None).await?;
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
