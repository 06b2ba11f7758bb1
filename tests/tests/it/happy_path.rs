//! The happy path through real processes: anvil, PostgreSQL, `pact-indexer`, `pact-relayer keeper`
//! and `pact-api`. Two agents meet on the API, the buyer funds on-chain with the order id and terms
//! hash the API gave, the seller proves delivery, time jumps 72 h twice and the keeper completes the
//! order; the API shows COMPLETED with its audit trail and the seller's webhook receiver gets a
//! correctly signed `order.updated`.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    signers::SignerSync,
    transports::http::reqwest,
};
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use hmac::{Hmac, Mac};
use pact_bindings::{
    escrow::{IPactEscrow, PactEscrow},
    test_usdt::TestUSDT,
};
use pact_testkit::{KillOnDrop, TestDb};
use serde_json::{Value, json};
use sha2::Sha256;
use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const DAY: u64 = 86_400;

/// The workspace's debug binaries (built by the same `cargo test`/`nextest` run).
fn bin(name: &str) -> eyre::Result<PathBuf> {
    let dir = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .ok_or_else(|| eyre::eyre!("no target dir"))?;
    let path = dir.join(name);
    eyre::ensure!(
        path.exists(),
        "{} not built: run `cargo build --bins` first",
        path.display()
    );
    Ok(path)
}

fn spawn(name: &str, args: &[&str], envs: &[(&str, &str)]) -> eyre::Result<KillOnDrop> {
    let log = std::fs::File::create(std::env::temp_dir().join(format!("pact-e2e-{name}.log")))?;
    Ok(KillOnDrop(
        Command::new(bin(name)?)
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    ))
}

fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn webhook_receiver() -> eyre::Result<(String, Received)> {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    r.lock().unwrap().push((headers, body));
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
fn signature_valid(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let (Some(ts), Some(sig)) = (
        headers.get("x-pact-timestamp"),
        headers.get("x-pact-signature"),
    ) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    sig.to_str().ok()
        == Some(&format!(
            "sha256={}",
            hex::encode(mac.finalize().into_bytes())
        ))
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the API answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Value {
        let (s, v) = self.call("POST", path, key, Some(body)).await;
        assert!((200..300).contains(&s), "POST {path}: {s} {v}");
        v
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, None).await
    }
}

async fn eventually<F, Fut>(what: &str, timeout: Duration, mut f: F) -> eyre::Result<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        eyre::ensure!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn two_agents_trade_through_the_whole_stack() -> eyre::Result<()> {
    // Chain and contracts.
    let chain = pact_testkit::anvil(31337)?;
    let deploy_block = chain.provider.get_block_number().await?;
    let usdt = TestUSDT::deploy(&chain.provider, "Tether USD".into(), "USDT".into(), 6).await?;
    let owner = chain.signer(0).address();
    let config = IPactEscrow::Config {
        feeBps: 100,
        reviewWindow: 3 * DAY as u32,
        arbiterWindow: 7 * DAY as u32,
        defaultSellerBps: 5_000,
    };
    let escrow = PactEscrow::deploy(
        &chain.provider,
        *usdt.address(),
        owner,
        owner,
        chain.signer(9).address(),
        1_000,
        config,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("pact-e2e-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir)?;
    let deployment = dir.join("31337.json");
    std::fs::write(
        &deployment,
        json!({ "chainId": 31337, "token": usdt.address(), "tokenDecimals": 6, "escrow": escrow.address(),
                "deployBlock": deploy_block })
        .to_string(),
    )?;
    let deployment = deployment.to_string_lossy().to_string();

    // The services, as processes.
    let db = TestDb::new().await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let chain_spec = format!("rpc={},deployment={deployment}", chain.rpc_url());
    let keeper_key = alloy::hex::encode_prefixed(chain.anvil.keys()[8].to_bytes());
    let _indexer = spawn(
        "pact-indexer",
        &[
            "--database-url",
            &db.url,
            "--chain",
            &chain_spec,
            "--poll-ms",
            "20",
        ],
        &[],
    )?;
    let api = Api {
        base: base.clone(),
        http: reqwest::Client::new(),
    };
    // The API and the keeper run the same migrations as the indexer: start them once it has.
    eventually(
        "the indexer's first commit",
        Duration::from_secs(30),
        || {
            let url = db.url.clone();
            async move {
                let pool = sqlx::PgPool::connect(&url).await.ok()?;
                let n: Option<i64> =
                    sqlx::query_scalar("SELECT max(block_number) FROM indexer_cursors")
                        .fetch_one(&pool)
                        .await
                        .ok()?;
                n.map(|_| Value::Null)
            }
        },
    )
    .await?;
    let _api = spawn(
        "pact-api",
        &[
            "--database-url",
            &db.url,
            "--listen",
            &listen,
            "--public-url",
            &base,
            "--deployment",
            &deployment,
            "--allow-private-webhooks",
        ],
        &[],
    )?;
    let _keeper = spawn(
        "pact-relayer",
        &[
            "--database-url",
            &db.url,
            "keeper",
            "--rpc",
            &chain.rpc_url(),
            "--deployment",
            &deployment,
            "--poll-ms",
            "200",
        ],
        &[("PACT_RELAYER_KEY", &keeper_key)],
    )?;
    eventually("the API", Duration::from_secs(30), || async {
        let r = reqwest::get(format!("{base}/openapi.json")).await.ok()?;
        r.status().is_success().then_some(Value::Null)
    })
    .await?;

    // Two agents meet on the API; the seller binds its wallet by signed challenge.
    let (hook_url, received) = webhook_receiver().await?;
    let seller = api
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": "seller-bot", "display_name": "Seller", "webhook_url": hook_url }),
        )
        .await;
    let (seller_key, hook_secret) = (
        seller["api_key"].as_str().unwrap().to_string(),
        seller["webhook_secret"].as_str().unwrap().to_string(),
    );
    let buyer = api
        .post(
            "/v1/agents/register",
            None,
            json!({ "handle": "buyer-bot", "display_name": "Buyer" }),
        )
        .await;
    let buyer_key = buyer["api_key"].as_str().unwrap().to_string();
    let seller_wallet = chain.signer(2);
    let c = api
        .post(
            "/v1/agents/me/challenges",
            Some(&seller_key),
            json!({ "address": seller_wallet.address().to_string() }),
        )
        .await;
    let sig = seller_wallet.sign_message_sync(c["message"].as_str().unwrap().as_bytes())?;
    api.post(
        "/v1/agents/me/addresses",
        Some(&seller_key),
        json!({ "nonce": c["nonce"], "signature": format!("0x{}", hex::encode(sig.as_bytes())) }),
    )
    .await;
    let listing = api
        .post(
            "/v1/listings",
            Some(&seller_key),
            json!({ "kind": "offer", "title": "Summarise 40 papers", "description": "With citations",
                    "category": "research", "tags": ["summaries"], "price": "25" }),
        )
        .await;
    let order = api
        .post(
            &format!("/v1/listings/{}/negotiations", listing["id"]),
            Some(&buyer_key),
            json!({}),
        )
        .await;
    let id = order["order_id"].as_str().unwrap().to_string();
    assert_eq!(order["status"], "NEGOTIATING");
    let now = chain
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await?
        .unwrap()
        .header
        .timestamp;
    let terms = api
        .post(
            &format!("/v1/orders/{id}/terms"),
            Some(&seller_key),
            json!({ "seller_address": seller_wallet.address().to_string(), "deliver_by": now + 5 * DAY, "amount": "25" }),
        )
        .await;
    let version = terms["terms"]["version"].clone();
    api.post(
        &format!("/v1/orders/{id}/agree"),
        Some(&buyer_key),
        json!({ "terms_version": version }),
    )
    .await;
    let agreed = api
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&seller_key),
            json!({ "terms_version": version }),
        )
        .await;
    assert_eq!(agreed["status"], "AWAITING_PAY", "{agreed}");
    let fund = &agreed["fund"];

    // The buyer (an agent with its own wallet) pays on-chain with what the API gave it.
    let buyer_wallet = chain.signer(1).address();
    usdt.mint(buyer_wallet, U256::from(1_000_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    TestUSDT::new(*usdt.address(), chain.provider_for(1))
        .approve(*escrow.address(), U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;
    let order_id: B256 = fund["order_id"].as_str().unwrap().parse()?;
    let amount: U256 = fund["amount"].as_str().unwrap().parse()?;
    assert_eq!(amount, U256::from(25_000_000u64));
    PactEscrow::new(*escrow.address(), chain.provider_for(1))
        .fund(
            order_id,
            fund["seller"].as_str().unwrap().parse::<Address>()?,
            amount,
            fund["deliver_by"].as_u64().unwrap(),
            fund["terms_hash"].as_str().unwrap().parse()?,
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    PactEscrow::new(*escrow.address(), chain.provider_for(2))
        .submitProof(
            order_id,
            keccak256(b"the summaries"),
            "ipfs://summaries".into(),
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    let state = |want: &'static str| {
        let api = &api;
        let id = id.clone();
        move || {
            let id = id.clone();
            async move {
                let (s, v) = api.get(&format!("/v1/orders/{id}")).await;
                (s == 200 && v["state"] == want).then_some(v)
            }
        }
    };
    eventually(
        "PROOF_SUBMITTED on the API",
        Duration::from_secs(30),
        state("PROOF_SUBMITTED"),
    )
    .await?;

    // Nobody acts: 72 h later the review starts, 72 h after that the keeper completes the order.
    for _ in 0..2 {
        let _: Value = chain
            .provider
            .raw_request("evm_increaseTime".into(), (3 * DAY + 1,))
            .await?;
        let _: Value = chain.provider.raw_request("evm_mine".into(), ()).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let done = eventually(
        "COMPLETED on the API",
        Duration::from_secs(60),
        state("COMPLETED"),
    )
    .await?;
    let paid = PactEscrow::new(*escrow.address(), &chain.provider)
        .getOrder(order_id)
        .call()
        .await?;
    assert_eq!(paid.state, 5, "COMPLETED on-chain too");
    assert_eq!(
        usdt.balanceOf(seller_wallet.address()).call().await?,
        U256::from(24_750_000u64),
        "25 USDT minus the 1 % fee"
    );
    let trail = api.get(&format!("/v1/orders/{id}/events")).await.1;
    let states: Vec<&str> = trail["events"]
        .as_array()
        .or_else(|| trail["items"].as_array())
        .expect("an events list")
        .iter()
        .filter_map(|e| e["state_after"].as_str())
        .collect();
    assert_eq!(
        states,
        ["ESCROWED", "PROOF_SUBMITTED", "REVIEWING", "COMPLETED"],
        "{trail}"
    );
    assert!(
        done.to_string().contains("24.75") || done.to_string().contains("24750000"),
        "{done}"
    );

    // The seller's webhook receiver got signed order.updated deliveries.
    let hooks = eventually("an order.updated webhook", Duration::from_secs(30), || {
        let received = received.clone();
        async move {
            let r = received.lock().unwrap();
            let found = r
                .iter()
                .any(|(h, _)| h.get("x-pact-event").is_some_and(|e| e == "order.updated"));
            found.then(|| json!(r.len()))
        }
    })
    .await?;
    assert!(hooks.as_u64().unwrap() >= 1);
    for (headers, body) in received.lock().unwrap().iter() {
        assert!(
            signature_valid(&hook_secret, headers, body),
            "every delivery is correctly signed"
        );
        assert!(
            !signature_valid("not-the-secret", headers, body),
            "the check can fail"
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
