//! Negotiation → order, order reads over the chain tables (fixtures), search, threads.

use crate::common::*;
use serde_json::{Value, json};

/// alice offers, bob buys: returns (alice key, bob key, listing, order id, alice's address).
async fn agreed_order(app: &App) -> (String, String, i64, String, alloy::primitives::Address) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.bind_wallet(&bob).await; // the buyer's wallet: the order id is in its namespace
    let listing = app.listing(&alice, "offer", "Rust backend", "100").await;
    let (s, o) = app
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["status"], "NEGOTIATING");
    assert_eq!(o["buyer_agent"], "bob");
    assert_eq!(o["terms"]["amount"], "100.000000");
    let id = o["order_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 66);

    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&bob),
            json!({ "terms_version": 1 }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("terms_incomplete")));
    let stranger = alloy::primitives::Address::repeat_byte(7).to_string();
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/terms"),
            Some(&alice),
            json!({ "seller_address": stranger }),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("seller_address_not_bound"))
    );
    let (_, addr) = app.bind_wallet(&alice).await;
    let (s, v) = app
        .post(&format!("/v1/orders/{id}/terms"), Some(&alice),
              json!({ "seller_address": addr.to_string(), "deliver_by": T0 + 7 * 86400, "amount": "95.5", "details": "two endpoints" }))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["terms"]["version"], 2);
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&bob),
            json!({ "terms_version": 1 }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("terms_changed")));
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&bob),
            json!({ "terms_version": 2 }),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("NEGOTIATING")));
    assert!(v["terms_canonical"].is_null() && v["terms_hash"].is_null());
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/agree"),
            Some(&alice),
            json!({ "terms_version": 2 }),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (200, Some("AWAITING_PAY")),
        "{v}"
    );
    let hash = v["terms_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 66);
    assert_eq!(v["fund"]["amount"], "95500000");
    assert_eq!(
        v["fund"]["seller"].as_str().unwrap(),
        addr.to_string().to_lowercase()
    );
    assert_eq!(v["fund"]["terms_hash"], hash);
    // The canonical terms the hash covers: recomputable from the response alone.
    let canonical = v["terms_canonical"].as_str().unwrap();
    assert_eq!(
        alloy::primitives::keccak256(canonical.as_bytes()).to_string(),
        hash
    );
    assert_eq!(
        canonical,
        format!(
            r#"{{"amount":"95500000","chain_id":{CHAIN},"deliver_by":{},"details":"two endpoints","escrow":"{ESCROW}","order_id":"{id}","seller":"{}","token":"{TOKEN}"}}"#,
            T0 + 7 * 86400,
            addr.to_string().to_lowercase()
        )
    );
    (alice, bob, listing, id, addr)
}

#[tokio::test]
async fn negotiation_reaches_awaiting_pay_then_shows_the_chain_state_once_funded() {
    let app = App::spawn().await;
    let (alice, bob, listing, id, seller_addr) = agreed_order(&app).await;
    let carol = app.register("carol").await;
    app.bind_wallet(&carol).await;
    // A competing negotiation on the same listing.
    let (_, rival) = app
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            Some(&carol),
            json!({}),
        )
        .await;
    let rival_id = rival["order_id"].as_str().unwrap().to_string();

    // Only the parties see an unfunded order.
    assert_eq!(app.get(&format!("/v1/orders/{id}"), None).await.0, 404);
    assert_eq!(
        app.get(&format!("/v1/orders/{id}"), Some(&carol)).await.0,
        404
    );
    let (s, v) = app.get(&format!("/v1/orders/{id}"), Some(&bob)).await;
    assert_eq!(
        (s, v["state"].as_str(), v["source"].as_str()),
        (200, Some("AWAITING_PAY"), Some("app"))
    );
    // Non-parties cannot act on it.
    let (s, v) = app
        .post(&format!("/v1/orders/{id}/cancel"), Some(&carol), json!({}))
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_a_party")));

    // The indexer sees the funding.
    let (_, buyer_addr) = app.bind_wallet(&bob).await;
    let terms_hash = app.get(&format!("/v1/orders/{id}"), Some(&bob)).await.1["terms_hash"]
        .as_str()
        .unwrap()
        .to_string();
    chain_order(
        &app.pool,
        &id,
        buyer_addr,
        seller_addr,
        "95500000",
        "ESCROWED",
        10,
        None,
    )
    .await;
    sqlx::query("UPDATE escrow_orders SET terms_hash = $1")
        .bind(bytes(&terms_hash))
        .execute(&app.pool)
        .await
        .unwrap();
    chain_event(&app.pool, &id, 10, 0, "OrderFunded", "ESCROWED").await;
    indexer_commit(&app.pool, 10).await;

    let (_, v) = app.get(&format!("/v1/orders/{id}"), None).await;
    assert_eq!(v["state"], "ESCROWED");
    assert_eq!(v["source"], "chain");
    assert_eq!(v["amount"], "95.500000");
    assert_eq!(
        v["buyer"].as_str().unwrap(),
        buyer_addr.to_string().to_lowercase()
    );
    assert!(
        v.get("negotiation").is_none(),
        "negotiation shown to the public"
    );
    let rival_state = eventually("competing negotiation cancelled", || async {
        let (_, r) = app
            .get(&format!("/v1/orders/{rival_id}"), Some(&carol))
            .await;
        (r["state"] == "CANCELLED").then_some(r)
    })
    .await;
    assert_eq!(rival_state["status"], "CANCELLED");
    let (_, v) = app.get(&format!("/v1/orders/{id}"), Some(&alice)).await;
    assert_eq!(v["negotiation"]["status"], "FUNDED");
    assert_eq!(v["terms_match"], true);

    // Later transitions and the audit trail.
    chain_order(
        &app.pool,
        &id,
        buyer_addr,
        seller_addr,
        "95500000",
        "PROOF_SUBMITTED",
        12,
        Some(("START_REVIEW", T0 + 500)),
    )
    .await;
    chain_event(&app.pool, &id, 11, 3, "DeliveryStarted", "DELIVERING").await;
    chain_event(&app.pool, &id, 12, 1, "ProofSubmitted", "PROOF_SUBMITTED").await;
    let (_, v) = app.get(&format!("/v1/orders/{id}"), None).await;
    assert_eq!(v["state"], "PROOF_SUBMITTED");
    assert_eq!(
        v["next_action"],
        json!({ "action": "START_REVIEW", "at": T0 + 500 })
    );
    let (_, e) = app
        .get(&format!("/v1/orders/{id}/events?limit=2"), None)
        .await;
    let first: Vec<Value> = e["items"].as_array().unwrap().clone();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["event"], "OrderFunded");
    assert_eq!(first[0]["tx_hash"].as_str().unwrap().len(), 66);
    let (_, e2) = app
        .get(
            &format!(
                "/v1/orders/{id}/events?cursor={}",
                e["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(e2["items"][0]["event"], "ProofSubmitted");
    assert!(e2["next_cursor"].is_null());

    // Search by party (address and handle), state, token and amount.
    let (_, r) = app
        .get(&format!("/v1/orders?party={seller_addr}"), None)
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let (_, r) = app
        .get("/v1/orders?party=bob&state=PROOF_SUBMITTED", None)
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let (_, r) = app.get("/v1/orders?party=bob&state=COMPLETED", None).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 0);
    let (_, r) = app
        .get(
            &format!("/v1/orders?token={TOKEN}&min_amount=95.5&max_amount=95.5"),
            None,
        )
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    let (_, r) = app.get("/v1/orders?min_amount=95.6", None).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 0);
    for bad in [
        "state=NOPE",
        "party=0x12",
        "min_amount=x",
        "cursor=00",
        "limit=101",
    ] {
        assert_eq!(
            app.get(&format!("/v1/orders?{bad}"), None).await.0,
            400,
            "{bad}"
        );
    }
    assert_eq!(app.get("/v1/orders/0x1234", None).await.0, 400);
    assert_eq!(
        app.get(&format!("/v1/orders/0x{}", "00".repeat(32)), None)
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&format!("/v1/orders/0x{}/events", "00".repeat(32)), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn orders_search_pages_by_keyset() {
    let app = App::spawn().await;
    let a = alloy::primitives::Address::repeat_byte(1);
    let b = alloy::primitives::Address::repeat_byte(2);
    for i in 0..25u8 {
        let id = format!("0x{}", hex::encode([i; 32]));
        chain_order(
            &app.pool,
            &id,
            a,
            b,
            &format!("{}000000", i + 1),
            "ESCROWED",
            i64::from(i % 5),
            None,
        )
        .await;
    }
    let mut seen = vec![];
    let mut path = "/v1/orders?limit=7".to_string();
    loop {
        let (s, v) = app.get(&path, None).await;
        assert_eq!(s, 200, "{v}");
        seen.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["order_id"].as_str().unwrap().to_string()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/orders?limit=7&cursor={c}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (25, 25));
}

#[tokio::test]
async fn negotiation_rules() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.bind_wallet(&bob).await; // the buyer's wallet: the order id is in its namespace
    let offer = app.listing(&alice, "offer", "Thing offered", "10").await;
    let bounty = app.listing(&alice, "bounty", "Thing wanted", "10").await;
    app.bind_wallet(&alice).await; // alice buys on her own bounty
    let (s, v) = app
        .post(
            &format!("/v1/listings/{offer}/negotiations"),
            Some(&alice),
            json!({}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("own_listing")));
    let (s, v) = app
        .post(
            &format!("/v1/listings/{bounty}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (v["buyer_agent"].as_str(), v["seller_agent"].as_str()),
        (Some("alice"), Some("bob"))
    );
    let (s, v) = app
        .post(
            &format!("/v1/listings/{offer}/negotiations"),
            Some(&bob),
            json!({ "deliver_by": T0 - 1 }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("invalid_deadline")));
    let (s, v) = app
        .post(
            &format!("/v1/listings/{offer}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(s, 201);
    let id = v["order_id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(&format!("/v1/orders/{id}/cancel"), Some(&bob), json!({}))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("CANCELLED")));
    let (s, v) = app
        .post(&format!("/v1/orders/{id}/cancel"), Some(&bob), json!({}))
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("invalid_state")));
    app.post(
        &format!("/v1/listings/{offer}/close"),
        Some(&alice),
        json!({}),
    )
    .await;
    let (s, v) = app
        .post(
            &format!("/v1/listings/{offer}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("listing_closed")));
    assert_eq!(
        app.post("/v1/listings/424242/negotiations", Some(&bob), json!({}))
            .await
            .0,
        404
    );
    let (_, mine) = app.get("/v1/negotiations", Some(&bob)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn only_the_two_parties_read_and_post_in_a_thread() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.bind_wallet(&bob).await; // the buyer's wallet: the order id is in its namespace
    let eve = app.register("eve").await;
    let listing = app.listing(&alice, "offer", "Thread test", "1").await;
    let (_, o) = app
        .post(
            &format!("/v1/listings/{listing}/negotiations"),
            Some(&bob),
            json!({}),
        )
        .await;
    let id = o["order_id"].as_str().unwrap();
    for i in 0..5 {
        let key = if i % 2 == 0 { &bob } else { &alice };
        let (s, m) = app
            .post(
                &format!("/v1/orders/{id}/messages"),
                Some(key),
                json!({ "body": format!("message {i}") }),
            )
            .await;
        assert_eq!(s, 201, "{m}");
    }
    let (s, v) = app
        .get(&format!("/v1/orders/{id}/messages"), Some(&eve))
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_a_party")));
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/messages"),
            Some(&eve),
            json!({ "body": "hi" }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_a_party")));
    assert_eq!(
        app.get(&format!("/v1/orders/{id}/messages"), None).await.0,
        401
    );
    let (s, v) = app
        .post(
            &format!("/v1/orders/{id}/messages"),
            Some(&bob),
            json!({ "body": "  " }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("invalid_field")));

    let (_, p1) = app
        .get(&format!("/v1/orders/{id}/messages?limit=3"), Some(&alice))
        .await;
    let (_, p2) = app
        .get(
            &format!(
                "/v1/orders/{id}/messages?limit=3&cursor={}",
                p1["next_cursor"].as_str().unwrap()
            ),
            Some(&alice),
        )
        .await;
    let bodies: Vec<&str> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["items"].as_array().unwrap())
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "message 0",
            "message 1",
            "message 2",
            "message 3",
            "message 4"
        ]
    );
    assert!(p2["next_cursor"].is_null());
    assert_eq!(p1["items"][0]["author"], "bob");
    assert_eq!(
        app.get(
            &format!("/v1/orders/0x{}/messages", "00".repeat(32)),
            Some(&alice)
        )
        .await
        .0,
        404
    );
}

/// The order id the API hands out is in the buyer wallet's namespace (its first 20 bytes), so the
/// escrow accepts it from that wallet only: nobody can squat or imitate it on-chain.
#[tokio::test]
async fn the_order_id_belongs_to_the_buyers_wallet() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let listing = app.listing(&alice, "offer", "Audit", "25").await;
    let path = format!("/v1/listings/{listing}/negotiations");
    let (s, v) = app.post(&path, Some(&bob), json!({})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("buyer_wallet_required")),
        "{v}"
    );
    let (_, first) = app.bind_wallet(&bob).await;
    let (s, v) = app
        .post(&path, Some(&bob), json!({ "buyer_address": alice_addr() }))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("buyer_address_not_bound")),
        "{v}"
    );
    // By default the wallet the buyer bound (first); a second one can be named.
    for k in 0..2 {
        let (body, wallet) = if k == 0 {
            (json!({}), first)
        } else {
            let (_, second) = app.bind_wallet(&bob).await;
            (json!({ "buyer_address": second.to_string() }), second)
        };
        let (s, o) = app.post(&path, Some(&bob), body).await;
        assert_eq!(s, 201, "{o}");
        let id: alloy::primitives::B256 = o["order_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(pact_bindings::buyer_of(id), wallet);
        assert_eq!(
            o["buyer_address"].as_str().unwrap(),
            wallet.to_string().to_lowercase()
        );
        let (s, v) = app
            .post(
                &format!("/v1/orders/{id}/terms"),
                Some(&bob),
                json!({ "buyer_address": wallet.to_string() }),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (422, Some("buyer_address_fixed")),
            "{v}"
        );
    }
}

fn alice_addr() -> String {
    "0x00000000000000000000000000000000000a11ce".into()
}
