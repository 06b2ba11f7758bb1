//! Test harness: spawn the API on a fresh database, talk HTTP, fixtures for the chain tables.

use alloy::{
    primitives::Address,
    signers::{SignerSync, local::PrivateKeySigner},
    transports::http::reqwest,
};
use pact_api::{AppState, ManualClock, Settings};
use pact_testkit::TestDb;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio::{sync::oneshot, task::JoinHandle};

/// The start of every test clock.
pub const T0: i64 = 1_800_000_000;
/// Chain, token and escrow of the fixtures.
pub const CHAIN: i64 = 31337;
pub const TOKEN: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
pub const ESCROW: &str = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";

pub fn settings() -> Settings {
    Settings {
        allow_private_webhooks: true,
        worker_poll: Duration::from_millis(50),
        webhook_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

/// A running API.
pub struct App {
    pub db: Arc<TestDb>,
    pub pool: PgPool,
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl App {
    pub async fn spawn() -> Self {
        Self::spawn_with(settings()).await
    }

    pub async fn spawn_with(settings: Settings) -> Self {
        let db = Arc::new(TestDb::new().await.unwrap());
        let pool = db.pool().await.unwrap();
        pact_api::migrate(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO api_tokens (chain_id, token, escrow, decimals) VALUES ($1, $2, $3, 6)",
        )
        .bind(CHAIN)
        .bind(hex::decode(&TOKEN[2..]).unwrap())
        .bind(hex::decode(&ESCROW[2..]).unwrap())
        .execute(&pool)
        .await
        .unwrap();
        Self::start(db, ManualClock::new(T0), settings).await
    }

    /// Starts a server over an existing database (a restart).
    pub async fn start(db: Arc<TestDb>, clock: ManualClock, settings: Settings) -> Self {
        let pool = db.pool().await.unwrap();
        let state = AppState::new(pool.clone(), Arc::new(clock.clone()), settings).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            pact_api::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            db,
            pool,
            base,
            clock,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Kills the server and its workers mid-way, as a crash would: nothing they were doing
    /// finishes (a webhook send in flight is dropped with its claim still leased).
    pub async fn kill(&mut self) {
        self.stop.take();
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Stops the server and its workers.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
        {
            panic!("server did not shut down");
        }
        // The old workers are gone: no delivery below can come from them.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.http.request(m, format!("{}{path}", self.base));
        if let Some(k) = key {
            r = r.header("authorization", format!("Bearer {k}"));
        }
        if let Some(i) = idem {
            r = r.header("idempotency-key", i);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{method} {path}: non-JSON body {:?}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        if status >= 400 {
            assert!(
                v["code"].is_string() && v["message"].is_string(),
                "{method} {path}: {v}"
            );
        }
        assert!(status < 500, "{method} {path} answered {status}: {v}");
        (status, v)
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.call("GET", path, key, None, None).await
    }
    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        self.call("POST", path, key, Some(body), None).await
    }
    pub async fn patch(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        self.call("PATCH", path, key, Some(body), None).await
    }

    /// Registers an agent; returns its key.
    pub async fn register(&self, handle: &str) -> String {
        self.register_with(handle, None).await.0
    }

    /// Registers an agent with a webhook; returns (key, webhook secret).
    pub async fn register_with(
        &self,
        handle: &str,
        webhook: Option<&str>,
    ) -> (String, Option<String>) {
        let (s, v) = self
            .post(
                "/v1/agents/register",
                None,
                json!({ "handle": handle, "display_name": format!("Agent {handle}"), "webhook_url": webhook }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        (
            v["api_key"].as_str().unwrap().to_string(),
            v["webhook_secret"].as_str().map(str::to_string),
        )
    }

    /// Binds a fresh wallet to the agent through challenge + EIP-191 signature.
    pub async fn bind_wallet(&self, key: &str) -> (PrivateKeySigner, Address) {
        let signer = PrivateKeySigner::random();
        let addr = self.bind_signer(key, &signer).await;
        (signer, addr)
    }

    /// Binds `signer`'s address to the agent (challenge + EIP-191 signature).
    pub async fn bind_signer(&self, key: &str, signer: &PrivateKeySigner) -> Address {
        let addr = signer.address();
        let (s, c) = self
            .post(
                "/v1/agents/me/challenges",
                Some(key),
                json!({ "address": addr.to_string() }),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        let sig = signer
            .sign_message_sync(c["message"].as_str().unwrap().as_bytes())
            .unwrap();
        let (s, v) = self
            .post(
                "/v1/agents/me/addresses",
                Some(key),
                json!({ "nonce": c["nonce"], "signature": format!("0x{}", hex::encode(sig.as_bytes())) }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        addr
    }

    pub async fn listing(&self, key: &str, kind: &str, title: &str, price: &str) -> i64 {
        let (s, v) = self
            .post(
                "/v1/listings",
                Some(key),
                json!({ "kind": kind, "title": title, "description": format!("{title} described"),
                        "category": "dev", "tags": ["rust"], "price": price }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_i64().unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub fn bytes(hex0x: &str) -> Vec<u8> {
    hex::decode(hex0x.trim_start_matches("0x")).unwrap()
}

/// Inserts an `escrow_orders` row as the indexer would.
#[allow(clippy::too_many_arguments)]
pub async fn chain_order(
    pool: &PgPool,
    order_id: &str,
    buyer: Address,
    seller: Address,
    amount: &str,
    state: &str,
    block: i64,
    next_action: Option<(&str, i64)>,
) {
    sqlx::query(
        "INSERT INTO escrow_orders (chain_id, escrow, order_id, token, token_decimals, buyer, seller,
            amount, state, state_since, deliver_by, terms_hash, fee_bps, review_window, arbiter_window,
            default_seller_bps, next_action, next_action_at, funded_block, funded_tx, updated_block,
            updated_log_index, updated_at)
         VALUES ($1, $2, $3, $4, 6, $5, $6, $7::NUMERIC, $8, $9, $9 + 86400, $10, 100, 3600, 7200,
            5000, $11, $12, $13, $14, $13, 0, $9)
         ON CONFLICT (chain_id, escrow, order_id) DO UPDATE SET state = EXCLUDED.state,
            updated_block = EXCLUDED.updated_block, next_action = EXCLUDED.next_action,
            next_action_at = EXCLUDED.next_action_at",
    )
    .bind(CHAIN)
    .bind(bytes(ESCROW))
    .bind(bytes(order_id))
    .bind(bytes(TOKEN))
    .bind(buyer.as_slice())
    .bind(seller.as_slice())
    .bind(amount)
    .bind(state)
    .bind(T0)
    .bind(vec![0x11u8; 32])
    .bind(next_action.map(|n| n.0))
    .bind(next_action.map(|n| n.1))
    .bind(block)
    .bind(vec![0xaau8; 32])
    .execute(pool)
    .await
    .unwrap();
}

/// Inserts an `escrow_events` row.
pub async fn chain_event(
    pool: &PgPool,
    order_id: &str,
    block: i64,
    log: i32,
    event: &str,
    state: &str,
) {
    sqlx::query(
        "INSERT INTO escrow_events (chain_id, block_number, log_index, tx_hash, block_timestamp, escrow,
            order_id, event, actor, state_after, args)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
    )
    .bind(CHAIN)
    .bind(block)
    .bind(log)
    .bind(vec![block as u8; 32])
    .bind(T0 + block)
    .bind(bytes(ESCROW))
    .bind(bytes(order_id))
    .bind(event)
    .bind(state)
    .bind(json!({ "orderId": order_id }))
    .execute(pool)
    .await
    .unwrap();
}

/// Moves the indexer cursor and notifies, as the indexer does after a commit.
pub async fn indexer_commit(pool: &PgPool, block: i64) {
    sqlx::query(
        "INSERT INTO indexer_cursors (chain_id, block_number, block_hash) VALUES ($1, $2, '\\x00')
         ON CONFLICT (chain_id) DO UPDATE SET block_number = EXCLUDED.block_number",
    )
    .bind(CHAIN)
    .bind(block)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify('pact_chain', $1)")
        .bind(json!({ "chain_id": CHAIN, "from": 0, "to": block }).to_string())
        .execute(pool)
        .await
        .unwrap();
}

/// Rewinds the chain tables above `fork` as the indexer's `Store::rewind` does, for these
/// fixtures: the events above the fork and the orders funded above it are deleted (the indexer
/// refolds the other orders from their remaining events), the cursor moves to the fork, a
/// `reorgs` row is appended and the notice sent, all in one transaction.
pub async fn indexer_rewind(pool: &PgPool, fork: i64) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("DELETE FROM escrow_events WHERE chain_id = $1 AND block_number > $2")
        .bind(CHAIN)
        .bind(fork)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM escrow_orders WHERE chain_id = $1 AND funded_block > $2")
        .bind(CHAIN)
        .bind(fork)
        .execute(&mut *tx)
        .await
        .unwrap();
    let (old,): (i64,) = sqlx::query_as(
        "UPDATE indexer_cursors c SET block_number = $2 FROM indexer_cursors o
         WHERE c.chain_id = $1 AND o.chain_id = c.chain_id RETURNING o.block_number",
    )
    .bind(CHAIN)
    .bind(fork)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO reorgs (chain_id, fork_block, old_head, old_hash, new_head, new_hash)
         VALUES ($1, $2, $3, '\\x01', $2, '\\x02')",
    )
    .bind(CHAIN)
    .bind(fork)
    .bind(old)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify('pact_chain', $1)")
        .bind(json!({ "chain_id": CHAIN, "reorg": fork }).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Polls `f` until it returns `Some` (10 s).
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
