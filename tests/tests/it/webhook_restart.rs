//! The API killed with SIGKILL twice while webhook deliveries are in flight and pending. Two agents
//! trade (an API order funded on chain, plus orders funded directly between their bound wallets)
//! and write to the order's thread; their receivers record every request on arrival and can hold
//! their answer (a closed gate), so the API's delivery transaction is still open when it dies:
//!
//! - kill 1: a batch of deliveries sits at the receivers unanswered, more deliveries wait in the
//!   outbox (messages and chain events enqueued after the batch was taken); while the API is down
//!   the chain moves on (proofs, an acceptance), which it must turn into deliveries from its own
//!   cursor when it restarts;
//! - kill 2: the restarted API dies again as soon as its first catch-up batch reaches a receiver.
//!
//! Then it restarts with the gates open. Every outbox row ends `delivered`; every delivery reached
//! its agent's receiver at least once, correctly signed; the deliveries in flight at a kill came
//! again, under the same `X-Pact-Delivery` id and with the same body; no receiver got an id the
//! outbox does not hold for it; the outbox holds exactly one `order.updated` per agent for every
//! escrow log of the agents' orders, one `message.created` for the other party of every message,
//! the two app transitions, and nothing else.

use crate::stack::{BUYER, DAY, Opts, SELLER, Stack, b256, new_id, signature_valid, tx};
use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use eyre::{Result, eyre};
use pact_bindings::escrow::PactEscrow;
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// A webhook receiver that records each request when it arrives and answers 200 once its gate
/// is open.
#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    closed: Arc<AtomicBool>,
}

impl Hook {
    async fn start() -> Result<(String, Self)> {
        let hook = Self::default();
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(h): State<Hook>, headers: HeaderMap, body: Bytes| async move {
                        h.got.lock().expect("not poisoned").push((headers, body));
                        while h.closed.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        "ok"
                    },
                ),
            )
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((url, hook))
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn open(&self) {
        self.closed.store(false, Ordering::SeqCst);
    }

    fn count(&self) -> usize {
        self.got.lock().expect("not poisoned").len()
    }

    /// Delivery ids of the requests from the `from`-th on.
    fn ids_from(&self, from: usize) -> Vec<String> {
        self.got.lock().expect("not poisoned")[from..]
            .iter()
            .filter_map(|(h, _)| Some(h.get("x-pact-delivery")?.to_str().ok()?.to_string()))
            .collect()
    }
}

/// (id, agent, status) of every outbox row.
async fn outbox(s: &Stack) -> Result<Vec<(i64, i64, String)>> {
    Ok(
        sqlx::query_as("SELECT id, agent_id, status FROM webhook_deliveries ORDER BY id")
            .fetch_all(&s.pool)
            .await?,
    )
}

/// Waits until the indexer is at the head and the API turned every indexed escrow event into
/// deliveries.
async fn chain_enqueued(s: &Stack) -> Result<()> {
    s.wait_indexed().await?;
    s.wait(
        "the API's watermark at the indexer's last escrow event",
        Duration::from_secs(30),
        || async move {
            let done: Option<bool> = sqlx::query_scalar(
                "SELECT w.seq >= COALESCE((SELECT max(e.seq) FROM escrow_events e
                                           WHERE e.chain_id = w.chain_id AND e.order_id IS NOT NULL), 0)
                 FROM api_chain_watermarks w WHERE w.chain_id = $1",
            )
            .bind(crate::stack::HOME_ID as i64)
            .fetch_optional(&s.pool)
            .await
            .ok()?;
            (done == Some(true)).then_some(())
        },
    )
    .await
}

/// Waits until every outbox row is delivered.
async fn all_delivered(s: &Stack) -> Result<usize> {
    s.wait(
        "every outbox row delivered",
        Duration::from_secs(40),
        || async move {
            let rows = outbox(s).await.ok()?;
            rows.iter()
                .all(|r| r.2 == "delivered")
                .then_some(rows.len())
        },
    )
    .await
}

/// Posts `text` to the thread of `oid` as the agent with `key`; returns the message id.
async fn say(s: &Stack, oid: &str, key: &str, text: &str) -> Result<i64> {
    let m = s
        .api
        .post(
            &format!("/v1/orders/{oid}/messages"),
            Some(key),
            json!({ "body": text }),
        )
        .await?;
    m["id"].as_i64().ok_or_else(|| eyre!("no id: {m}"))
}

/// Waits until the receivers together hold at least `n` requests more than `base`.
async fn arrived(s: &Stack, hooks: &[&Hook], base: usize, n: usize) -> Result<()> {
    s.wait(
        &format!("{n} deliveries at the receivers"),
        Duration::from_secs(30),
        || async move {
            let now: usize = hooks.iter().map(|h| h.count()).sum();
            (now >= base + n).then_some(())
        },
    )
    .await
}

#[tokio::test]
async fn api_killed_with_deliveries_in_flight_loses_none() -> Result<()> {
    let started = Instant::now();
    let mut s = Stack::up(Opts {
        keeper: false,
        ..Opts::escrow("webhook_restart")
    })
    .await?;
    let (seller_url, seller_hook) = Hook::start().await?;
    let (buyer_url, buyer_hook) = Hook::start().await?;
    let hooks = [&seller_hook, &buyer_hook];
    let (seller_key, seller_secret) = s.api.register("seller-bot", Some(&seller_url)).await?;
    let (buyer_key, buyer_secret) = s.api.register("buyer-bot", Some(&buyer_url)).await?;
    let seller_wallet = s.home.signer(SELLER);
    s.api.bind(&seller_key, &seller_wallet).await?;
    s.api.bind(&buyer_key, &s.home.signer(BUYER)).await?;
    let agent_id = |handle: &str| {
        let pool = s.pool.clone();
        let handle = handle.to_string();
        async move {
            eyre::Ok(
                sqlx::query_scalar::<_, i64>("SELECT id FROM agents WHERE handle = $1")
                    .bind(handle)
                    .fetch_one(&pool)
                    .await?,
            )
        }
    };
    let (seller_id, buyer_id) = (agent_id("seller-bot").await?, agent_id("buyer-bot").await?);

    // An API order: listing, negotiation, thread, terms, both agree, funded on chain.
    let listing = s
        .api
        .post(
            "/v1/listings",
            Some(&seller_key),
            json!({ "kind": "offer", "title": "Label 500 images", "description": "Bounding boxes",
                    "category": "data", "tags": ["images"], "price": "12.5" }),
        )
        .await?;
    let order = s
        .api
        .post(
            &format!("/v1/listings/{}/negotiations", listing["id"]),
            Some(&buyer_key),
            json!({}),
        )
        .await?;
    let oid = order["order_id"]
        .as_str()
        .ok_or_else(|| eyre!("{order}"))?
        .to_string();
    // Message id → the agent it is for.
    let mut messages: BTreeMap<i64, i64> = BTreeMap::new();
    messages.insert(
        say(&s, &oid, &buyer_key, "Can you start today?").await?,
        seller_id,
    );
    messages.insert(
        say(&s, &oid, &seller_key, "Within the hour.").await?,
        buyer_id,
    );
    let terms = s
        .api
        .post(
            &format!("/v1/orders/{oid}/terms"),
            Some(&seller_key),
            json!({ "seller_address": seller_wallet.address().to_string(),
                    "deliver_by": s.now().await? + 5 * DAY, "amount": "12.5" }),
        )
        .await?;
    let version = terms["terms"]["version"].clone();
    let mut agreed = Value::Null;
    for key in [&buyer_key, &seller_key] {
        agreed = s
            .api
            .post(
                &format!("/v1/orders/{oid}/agree"),
                Some(key),
                json!({ "terms_version": version }),
            )
            .await?;
    }
    let fund = &agreed["fund"];
    let app_order = b256(&fund["order_id"])?;
    let bp = s.hp(BUYER);
    tx!(
        bp,
        PactEscrow::new(s.escrow, bp.clone()).fund(
            app_order,
            fund["seller"]
                .as_str()
                .ok_or_else(|| eyre!("{fund}"))?
                .parse::<Address>()?,
            fund["amount"]
                .as_str()
                .ok_or_else(|| eyre!("{fund}"))?
                .parse::<U256>()?,
            fund["deliver_by"].as_u64().ok_or_else(|| eyre!("{fund}"))?,
            b256(&fund["terms_hash"])?,
        )
    );
    // Three more orders funded directly between the agents' bound wallets.
    let now = s.now().await?;
    let direct: Vec<_> = (0..3).map(|_| new_id(s.addr(BUYER))).collect();
    for (k, id) in direct.iter().enumerate() {
        s.fund(BUYER, *id, 2_000_000 + k as u64, now + 5 * DAY)
            .await?;
    }
    chain_enqueued(&s).await?;
    let baseline = all_delivered(&s).await?;

    // Kill 1: the receivers hold their answers. One message goes out and stays unanswered (the
    // API's delivery transaction open); more messages and chain events queue behind it.
    let marks: Vec<usize> = hooks.iter().map(|h| h.count()).collect();
    for h in hooks {
        h.close();
    }
    let base: usize = marks.iter().sum();
    messages.insert(say(&s, &oid, &buyer_key, "Any news?").await?, seller_id);
    arrived(&s, &hooks, base, 1).await?;
    messages.insert(say(&s, &oid, &seller_key, "Half done.").await?, buyer_id);
    messages.insert(say(&s, &oid, &buyer_key, "Great.").await?, seller_id);
    s.prove(app_order, "labels-part-1").await?;
    s.prove(direct[0], "direct-0").await?;
    chain_enqueued(&s).await?;
    s.kill("api")?;
    let held: Vec<String> = hooks
        .iter()
        .zip(&marks)
        .flat_map(|(h, m)| h.ids_from(*m))
        .collect();
    let rows = outbox(&s).await?;
    let pending: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.2 == "pending")
        .map(|r| format!("dlv_{}", r.0))
        .collect();
    assert!(
        held.iter().all(|id| pending.contains(id)),
        "the deliveries in flight at the kill are still pending: {held:?} {pending:?}"
    );
    assert!(
        pending.len() > held.len(),
        "more deliveries wait behind them: {pending:?}"
    );
    eprintln!(
        "kill 1: {} rows in the outbox, {} pending of which {} in flight; {:.1} s",
        rows.len(),
        pending.len(),
        held.len(),
        started.elapsed().as_secs_f64()
    );
    for h in hooks {
        h.open();
    }

    // While the API is down the chain moves on.
    let sp = s.hp(SELLER);
    s.prove(direct[1], "direct-1").await?;
    tx!(bp, s.escrow_as(BUYER).accept(direct[0]));
    tx!(sp, s.escrow_as(SELLER).startDelivery(direct[2]));
    s.wait_indexed().await?;

    // Kill 2: it restarts with the gates closed and dies as soon as its first catch-up batch
    // reaches a receiver.
    for h in hooks {
        h.close();
    }
    let base: usize = hooks.iter().map(|h| h.count()).sum();
    let marks: Vec<usize> = hooks.iter().map(|h| h.count()).collect();
    s.start_api().await?;
    arrived(&s, &hooks, base, 1).await?;
    s.kill("api")?;
    let held_2: Vec<String> = hooks
        .iter()
        .zip(&marks)
        .flat_map(|(h, m)| h.ids_from(*m))
        .collect();
    eprintln!("kill 2: {} deliveries in flight", held_2.len());
    for h in hooks {
        h.open();
    }
    s.start_api().await?;
    messages.insert(
        say(&s, &oid, &seller_key, "Done, proof on chain.").await?,
        buyer_id,
    );
    chain_enqueued(&s).await?;
    let total = all_delivered(&s).await?;
    s.kill("api")?;

    // Every outbox row delivered and received by its agent; no unknown id; duplicates identical.
    let rows: Vec<(i64, i64, String, String, Value)> = sqlx::query_as(
        "SELECT id, agent_id, event, dedup_key, payload FROM webhook_deliveries ORDER BY id",
    )
    .fetch_all(&s.pool)
    .await?;
    let mut duplicates = 0;
    for (agent, hook, secret) in [
        (seller_id, &seller_hook, seller_secret.as_deref()),
        (buyer_id, &buyer_hook, buyer_secret.as_deref()),
    ] {
        let secret = secret.ok_or_else(|| eyre!("no webhook secret"))?;
        let want: BTreeMap<String, &str> = rows
            .iter()
            .filter(|r| r.1 == agent)
            .map(|r| (format!("dlv_{}", r.0), r.2.as_str()))
            .collect();
        let mut got: BTreeMap<String, Vec<(HeaderMap, Bytes)>> = BTreeMap::new();
        for (h, b) in hook.got.lock().expect("not poisoned").iter() {
            let id = h["x-pact-delivery"].to_str()?.to_string();
            got.entry(id).or_default().push((h.clone(), b.clone()));
        }
        let got_ids: BTreeSet<&String> = got.keys().collect();
        let want_ids: BTreeSet<&String> = want.keys().collect();
        assert_eq!(got_ids, want_ids, "agent {agent}: received = outbox");
        for (id, copies) in &got {
            for (h, b) in copies {
                assert!(signature_valid(secret, h, b), "{id} correctly signed");
                assert_eq!(h["x-pact-event"].to_str()?, want[id], "{id}");
                let body: Value = serde_json::from_slice(b)?;
                assert_eq!(body["id"], id.as_str());
            }
            assert!(
                copies.iter().all(|(_, b)| *b == copies[0].1),
                "{id}: every copy carries the same body"
            );
            duplicates += copies.len() - 1;
        }
    }
    assert!(duplicates > 0, "the kills hit deliveries in flight");
    let all_received: Vec<String> = hooks.iter().flat_map(|h| h.ids_from(0)).collect();
    for id in held.iter().chain(&held_2) {
        assert!(
            all_received.iter().filter(|x| *x == id).count() >= 2,
            "{id}, in flight at a kill, came again"
        );
    }

    // Every escrow log of the agents' orders: one order.updated per agent; every message one
    // message.created for the other party.
    let logs = s
        .home
        .provider
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(s.escrow)
                .from_block(s.deploy_block),
        )
        .await?;
    let ours: BTreeSet<_> = std::iter::once(app_order)
        .chain(direct.iter().copied())
        .collect();
    let mut want_chain = BTreeSet::new();
    for l in &logs {
        if l.topics().get(1).is_some_and(|id| ours.contains(id)) {
            let key = format!(
                "chain:{}:{}:{}:{}",
                crate::stack::HOME_ID,
                l.block_number.unwrap_or_default(),
                l.log_index.unwrap_or_default(),
                hex::encode(l.transaction_hash.unwrap_or_default())
            );
            want_chain.insert((seller_id, key.clone()));
            want_chain.insert((buyer_id, key));
        }
    }
    let got_chain: Vec<(i64, String)> = rows
        .iter()
        .filter(|r| r.2 == "order.updated" && r.3.starts_with("chain:"))
        .map(|r| (r.1, r.3.clone()))
        .collect();
    assert_eq!(
        got_chain.len(),
        want_chain.len(),
        "one row per log and agent"
    );
    assert_eq!(
        got_chain.into_iter().collect::<BTreeSet<_>>(),
        want_chain,
        "order.updated of every escrow log"
    );
    let got_messages: BTreeMap<i64, i64> = rows
        .iter()
        .filter(|r| r.2 == "message.created")
        .map(|r| Ok((r.4["id"].as_i64().ok_or_else(|| eyre!("{}", r.4))?, r.1)))
        .collect::<Result<_>>()?;
    assert_eq!(
        got_messages, messages,
        "message.created for the other party"
    );
    eprintln!(
        "{total} deliveries ({baseline} before the kills), {duplicates} delivered twice, {} \
         messages, {} chain logs; {:.1} s",
        messages.len(),
        want_chain.len() / 2,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
