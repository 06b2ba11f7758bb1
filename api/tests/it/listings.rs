//! Listings: create, edit, close, authorization, search and keyset pagination.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn listings_are_created_edited_and_closed_by_their_owner_only() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let id = app
        .listing(&alice, "offer", "Smart contract audit", "12.5")
        .await;
    let (s, l) = app.get(&format!("/v1/listings/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(l["price"], "12.500000");
    assert_eq!(l["token"], TOKEN);
    assert_eq!(l["owner"], "alice");

    let (s, v) = app
        .patch(
            &format!("/v1/listings/{id}"),
            Some(&bob),
            json!({ "title": "Mine now" }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_owner")));
    let (s, v) = app
        .post(&format!("/v1/listings/{id}/close"), Some(&bob), json!({}))
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_owner")));
    assert_eq!(
        app.patch(&format!("/v1/listings/{id}"), None, json!({ "title": "x" }))
            .await
            .0,
        401
    );

    let (s, l) = app
        .patch(
            &format!("/v1/listings/{id}"),
            Some(&alice),
            json!({ "price": "15", "tags": ["solidity", "audit"] }),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["price"], "15.000000");
    assert_eq!(l["tags"], json!(["audit", "solidity"]));
    assert_eq!(l["title"], "Smart contract audit");

    let (s, l) = app
        .post(&format!("/v1/listings/{id}/close"), Some(&alice), json!({}))
        .await;
    assert_eq!((s, l["status"].as_str()), (200, Some("closed")));
    let (s, v) = app
        .patch(
            &format!("/v1/listings/{id}"),
            Some(&alice),
            json!({ "title": "again" }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("listing_closed")));
    assert_eq!(app.get("/v1/listings/999999", None).await.0, 404);
    assert_eq!(app.get("/v1/listings/abc", None).await.0, 400);
}

#[tokio::test]
async fn listing_inputs_are_validated() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let base = json!({ "kind": "offer", "title": "Audit", "description": "d", "category": "dev", "price": "1" });
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "kind": "sale" }), 422, "invalid_field"),
        (json!({ "title": "ab" }), 422, "invalid_field"),
        (json!({ "category": "Dev Ops" }), 422, "invalid_field"),
        (json!({ "tags": ["ok", "NOT OK"] }), 422, "invalid_field"),
        (
            json!({ "tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>() }),
            422,
            "invalid_field",
        ),
        (json!({ "price": "1.0000001" }), 422, "invalid_amount"),
        (json!({ "price": "-5" }), 422, "invalid_amount"),
        (json!({ "price": "abc" }), 422, "invalid_amount"),
        (json!({ "price": "1e3" }), 422, "invalid_amount"),
        (
            json!({ "price": "99999999999999999999999999999" }),
            422,
            "invalid_amount",
        ),
        (json!({ "price": 5 }), 422, "invalid_body"),
        (
            json!({ "token": "0x0000000000000000000000000000000000000001" }),
            422,
            "unknown_token",
        ),
        (json!({ "token": "0x01" }), 422, "invalid_address"),
    ];
    for (patch, status, code) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = app.post("/v1/listings", Some(&alice), body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }
}

async fn all_pages(app: &App, query: &str) -> Vec<Value> {
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/listings?{query}&limit=3&cursor={c}"),
            None => format!("/v1/listings?{query}&limit=3"),
        };
        let (s, v) = app.get(&path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        out.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn search_filters_sorts_and_pages_stably() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let specs = [
        (
            "offer",
            "Rust backend development",
            "backend",
            &["rust", "axum"][..],
            "120",
        ),
        (
            "offer",
            "Solidity audit of escrow contracts",
            "audit",
            &["solidity"][..],
            "900.5",
        ),
        (
            "bounty",
            "Need a rust indexer",
            "backend",
            &["rust"][..],
            "300",
        ),
        ("offer", "Logo design", "design", &[][..], "50"),
        (
            "bounty",
            "Audit my token",
            "audit",
            &["solidity", "erc20"][..],
            "300",
        ),
        ("offer", "Rust code review", "backend", &["rust"][..], "75"),
        (
            "offer",
            "Rust CLI tools",
            "backend",
            &["rust", "cli"][..],
            "75",
        ),
    ];
    for (i, (kind, title, cat, tags, price)) in specs.iter().enumerate() {
        let key = if i % 2 == 0 { &alice } else { &bob };
        let (s, v) = app
            .post("/v1/listings", Some(key), json!({ "kind": kind, "title": title, "description": format!("{title}, done well"), "category": cat, "tags": tags, "price": price }))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let titles = |v: &[Value]| {
        v.iter()
            .map(|l| l["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    let rust = all_pages(&app, "q=rust").await;
    assert_eq!(rust.len(), 4, "{:?}", titles(&rust));
    let offers = all_pages(&app, "kind=offer&category=backend").await;
    assert_eq!(
        titles(&offers),
        [
            "Rust CLI tools",
            "Rust code review",
            "Rust backend development"
        ]
    );
    let tagged = all_pages(&app, "tags=solidity,erc20").await;
    assert_eq!(titles(&tagged), ["Audit my token"]);
    let range = all_pages(&app, "min_price=75&max_price=300&sort=price_asc").await;
    let prices: Vec<&str> = range.iter().map(|l| l["price"].as_str().unwrap()).collect();
    assert_eq!(
        prices,
        [
            "75.000000",
            "75.000000",
            "120.000000",
            "300.000000",
            "300.000000"
        ]
    );
    let desc = all_pages(&app, "sort=price_desc").await;
    assert_eq!(desc.len(), 7);
    assert_eq!(desc[0]["title"], "Solidity audit of escrow contracts");
    let ids: std::collections::HashSet<i64> =
        desc.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 7, "pages overlap");
    let by_owner = all_pages(&app, "owner=bob").await;
    assert_eq!(by_owner.len(), 3);
    let relevance = all_pages(&app, "q=audit&sort=relevance").await;
    assert_eq!(relevance.len(), 2);

    // Closed listings leave the default search.
    let id = desc[0]["id"].as_i64().unwrap();
    app.post(&format!("/v1/listings/{id}/close"), Some(&bob), json!({}))
        .await;
    assert_eq!(all_pages(&app, "sort=newest").await.len(), 6);
    assert_eq!(all_pages(&app, "status=all").await.len(), 7);

    for bad in [
        "cursor=zz",
        "limit=0",
        "limit=1000",
        "sort=best",
        "sort=relevance",
        "kind=x",
        "min_price=-1",
        "status=gone",
        "tags=A B",
        "unknown=1",
    ] {
        let (s, v) = app.get(&format!("/v1/listings?{bad}"), None).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
}

#[tokio::test]
async fn relevance_ranks_head_matches_first_and_pages_over_every_match() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    // (title, category, description); created in this order, so later ones are newer.
    let specs = [
        ("Audit of a vault", "security", "Formal review"),
        ("Gas report", "audit", "Profiling of hot paths"),
        (
            "Token launch",
            "marketing",
            "Includes an audit of the token",
        ),
        ("Escrow audit", "security", "Two weeks"),
        (
            "Bridge watcher",
            "devops",
            "Alerts, and an audit trail of every alert",
        ),
        ("Audit and fuzzing", "security", "Solidity only"),
        ("Logo design", "design", "Vector files"),
    ];
    for (title, category, description) in specs {
        let (s, v) = app
            .post(
                "/v1/listings",
                Some(&alice),
                json!({ "kind": "offer", "title": title, "description": description,
                        "category": category, "price": "10" }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let titles = |v: &[Value]| {
        v.iter()
            .map(|l| l["title"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Title or category matches (newest first), then description-only matches (newest first).
    let expected = [
        "Audit and fuzzing",
        "Escrow audit",
        "Gas report",
        "Audit of a vault",
        "Bridge watcher",
        "Token launch",
    ];
    for limit in [1, 2, 3, 4, 6, 20] {
        let mut out = vec![];
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/listings?q=audit&limit={limit}&cursor={c}"),
                None => format!("/v1/listings?q=audit&limit={limit}"),
            };
            let (s, v) = app.get(&path, None).await;
            assert_eq!(s, 200, "{path}: {v}");
            let items = v["items"].as_array().unwrap();
            assert!(items.len() <= limit);
            out.extend(items.iter().cloned());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(titles(&out), expected, "limit {limit}");
    }
    // Negation holds in both tiers; the description counts for exclusion too.
    let v = all_pages(&app, "q=audit+-solidity").await;
    assert_eq!(
        titles(&v),
        [
            "Escrow audit",
            "Gas report",
            "Audit of a vault",
            "Bridge watcher",
            "Token launch"
        ]
    );
    // Every query word must occur; head matches need all of them in the head.
    let v = all_pages(&app, "q=audit+alerts").await;
    assert_eq!(titles(&v), ["Bridge watcher"]);
    let v = all_pages(&app, "q=security+audit").await;
    assert_eq!(
        titles(&v),
        ["Audit and fuzzing", "Escrow audit", "Audit of a vault"]
    );
    // Other sorts still apply to text matches.
    let v = all_pages(&app, "q=audit&sort=newest").await;
    assert_eq!(v.len(), 6);
    assert_eq!(v[0]["title"], "Audit and fuzzing");
    assert_eq!(v[5]["title"], "Audit of a vault");
    // A cursor of another sort is refused.
    let (_, p) = app.get("/v1/listings?q=audit&limit=1", None).await;
    let c = p["next_cursor"].as_str().unwrap();
    let (s, v) = app
        .get(
            &format!("/v1/listings?q=audit&sort=newest&cursor={c}"),
            None,
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_cursor")));
}

/// `POST /v1/listings/{id}/close` takes no body or `{}`: a non-JSON or non-empty body is a 400
/// and the listing stays open.
#[tokio::test]
async fn close_refuses_a_body_and_closes_nothing() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let id = app.listing(&key, "offer", "Audit", "25").await;
    let url = format!("{}/v1/listings/{id}/close", app.base);
    for body in ["not json", "[1]", r#"{"status":"closed"}"#] {
        let r = app
            .http
            .post(&url)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid_body", "{v}");
        let (_, l) = app.get(&format!("/v1/listings/{id}"), None).await;
        assert_eq!(l["status"], "open", "{body}");
    }
    let (s, l) = app
        .post(&format!("/v1/listings/{id}/close"), Some(&key), json!({}))
        .await;
    assert_eq!((s, l["status"].as_str()), (200, Some("closed")), "{l}");
}

/// An undeclared method answers 405 `method_not_allowed` with the `Allow` header naming the
/// declared ones.
#[tokio::test]
async fn an_undeclared_method_is_a_405_with_allow() {
    let app = App::spawn().await;
    let r = app
        .http
        .patch(format!("{}/v1/agents/register", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let allow = r
        .headers()
        .get("allow")
        .expect("an Allow header")
        .to_str()
        .unwrap()
        .to_string();
    assert!(allow.contains("POST"), "{allow}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "method_not_allowed");
}
