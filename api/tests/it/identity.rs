//! Identity binding: EIP-191 challenge, replay, expiry, wrong signer.

use crate::common::*;
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use serde_json::json;

async fn challenge(app: &App, key: &str, addr: &str) -> serde_json::Value {
    let (s, c) = app
        .post(
            "/v1/agents/me/challenges",
            Some(key),
            json!({ "address": addr }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c
}

fn sign(signer: &PrivateKeySigner, msg: &str) -> String {
    format!(
        "0x{}",
        hex::encode(signer.sign_message_sync(msg.as_bytes()).unwrap().as_bytes())
    )
}

#[tokio::test]
async fn a_signed_challenge_binds_the_address_once() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let signer = PrivateKeySigner::random();
    let addr = signer.address().to_string();
    let c = challenge(&app, &key, &addr).await;
    let sig = sign(&signer, c["message"].as_str().unwrap());
    let body = json!({ "nonce": c["nonce"], "signature": sig });
    let (s, v) = app
        .post("/v1/agents/me/addresses", Some(&key), body.clone())
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["address"].as_str().unwrap(), addr.to_lowercase());
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert_eq!(
        p["addresses"][0]["address"].as_str().unwrap(),
        addr.to_lowercase()
    );

    // Replay of the same challenge and signature.
    let (s, v) = app.post("/v1/agents/me/addresses", Some(&key), body).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("challenge_used")));

    // Another agent cannot take the address, even with a valid signature.
    let bob = app.register("bob").await;
    let c = challenge(&app, &bob, &addr).await;
    let sig = sign(&signer, c["message"].as_str().unwrap());
    let (s, v) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&bob),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("address_taken")));

    // Unbind.
    let (s, _) = app
        .call(
            "DELETE",
            &format!("/v1/agents/me/addresses/{addr}"),
            Some(&key),
            None,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert!(p["addresses"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn expired_foreign_and_wrongly_signed_challenges_are_refused() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let signer = PrivateKeySigner::random();
    let addr = signer.address().to_string();

    // Expired.
    let c = challenge(&app, &key, &addr).await;
    app.clock.advance(301);
    let sig = sign(&signer, c["message"].as_str().unwrap());
    let (s, v) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&key),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("challenge_expired")));

    // Signed by another wallet.
    let c = challenge(&app, &key, &addr).await;
    let other = PrivateKeySigner::random();
    let sig = sign(&other, c["message"].as_str().unwrap());
    let (s, v) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&key),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("signature_mismatch")));

    // Signature over another message.
    let sig = sign(&signer, "something else");
    let (s, v) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&key),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("signature_mismatch")));

    // Garbage signatures.
    for bad in ["0x", "0x1234", &format!("0x{}", "00".repeat(65)), "nothex"] {
        let (s, v) = app
            .post(
                "/v1/agents/me/addresses",
                Some(&key),
                json!({ "nonce": c["nonce"], "signature": bad }),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (422, Some("invalid_signature")),
            "{bad}"
        );
    }

    // Someone else's challenge.
    let bob = app.register("bob").await;
    let sig = sign(&signer, c["message"].as_str().unwrap());
    let (s, _) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&bob),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!(s, 404);

    // Bad address in the challenge request.
    let (s, v) = app
        .post(
            "/v1/agents/me/challenges",
            Some(&key),
            json!({ "address": "0x1234" }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("invalid_address")));

    // The still-valid challenge works with the right signature.
    let sig = sign(&signer, c["message"].as_str().unwrap());
    let (s, _) = app
        .post(
            "/v1/agents/me/addresses",
            Some(&key),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn the_profile_shows_the_mirrored_identity_and_bond_of_bound_wallets() {
    let app = App::spawn().await;
    let key = app.register("alice").await;
    let (_, addr) = app.bind_wallet(&key).await;
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert_eq!(p["identities"], json!([]));
    let (present,): (bool,) = sqlx::query_as("SELECT to_regclass('identities') IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    if !present {
        eprintln!("SKIPPED: the indexer's identity tables are not in migrations/");
        return;
    }
    sqlx::query(
        "INSERT INTO identities (chain_id, registry, id, owner, wallet, entity_type, status, metadata_hash, updated_block, updated_at)
         VALUES (1, '\\x01', '\\x0a', '\\x02', $1, 1, 'ACTIVE', '\\x00', 1, 1)",
    )
    .bind(addr.as_slice())
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO stake_bonds (chain_id, registry, id, amount, unbonding, updated_block, updated_at)
         VALUES (1, '\\x03', '\\x0a', 5000000, 0, 1, 1)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO lite_identities (chain_id, lite, id, owner, wallet, entity_type, status, cursor)
         VALUES (31337, '\\x04', '\\x0a', '\\x02', $1, 1, 2, 7)",
    )
    .bind(addr.as_slice())
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, p) = app.get("/v1/agents/alice", None).await;
    let ids = p["identities"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{p}");
    assert_eq!(ids[0]["source"], "registry");
    assert_eq!(ids[0]["status"], "ACTIVE");
    assert_eq!(ids[0]["bond"]["amount_base_units"], "5000000");
    assert_eq!(ids[1]["source"], "lite");
    assert_eq!(ids[1]["status"], "SUSPENDED");
    assert!(ids[1]["bond"].is_null());
}
