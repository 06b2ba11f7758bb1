//! MOI participant binding against MOI's own wallet and signer (`js-moi-wallet` from npm, run with
//! node): the API's challenge is signed by MOI's code, not by ours.

use crate::common::*;
use serde_json::{Value, json};
use std::{io::Write, process::Stdio};

/// A MOI wallet made by `js-moi-wallet`.
pub struct MoiWallet {
    mnemonic: String,
    pub participant_id: String,
    pub public_key: String,
}

fn moi(args: &[&str], stdin: &[u8]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moi_wallet.mjs");
    let mut child = std::process::Command::new("node")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is installed (scripts/setup checks it)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "moi_wallet.mjs {args:?}: {} (is node_modules installed? run scripts/setup)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl MoiWallet {
    /// A fresh random MOI wallet.
    pub fn new() -> Self {
        let v: Value = serde_json::from_str(&moi(&["new"], b"")).unwrap();
        Self {
            mnemonic: v["mnemonic"].as_str().unwrap().into(),
            participant_id: v["participant_id"].as_str().unwrap().into(),
            public_key: v["public_key"].as_str().unwrap().into(),
        }
    }
    /// MOI's `ECDSA_S256` signature of `message`, serialized as MOI does, hex.
    pub fn sign(&self, message: &str) -> String {
        moi(&["sign", &self.mnemonic], message.as_bytes())
    }
}

async fn challenge(app: &App, key: &str, w: &MoiWallet) -> Value {
    let (s, c) = app
        .post(
            "/v1/agents/me/moi/challenges",
            Some(key),
            json!({ "participant_id": w.participant_id, "public_key": w.public_key }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c
}

#[tokio::test]
async fn a_challenge_signed_by_moi_s_own_signer_binds_the_participant_once() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let w = MoiWallet::new();
    let c = challenge(&app, &alice, &w).await;
    let message = c["message"].as_str().unwrap();
    assert!(message.contains(&w.participant_id), "{message}");
    let body = json!({ "nonce": c["nonce"], "signature": w.sign(message) });
    let (s, v) = app
        .post("/v1/agents/me/moi/participants", Some(&alice), body.clone())
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["participant_id"], w.participant_id.as_str());
    assert_eq!(v["public_key"], format!("0x{}", w.public_key));

    // Shown on the public profile and on /me.
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert_eq!(
        p["moi_participants"][0]["participant_id"],
        w.participant_id.as_str()
    );
    let (_, me) = app.get("/v1/agents/me", Some(&alice)).await;
    assert_eq!(me["moi_participants"].as_array().unwrap().len(), 1);

    // The same challenge cannot be answered twice.
    let (s, v) = app
        .post("/v1/agents/me/moi/participants", Some(&alice), body)
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("challenge_used")));

    // Another agent cannot take the participant, even with a valid MOI signature.
    let bob = app.register("bob").await;
    let c = challenge(&app, &bob, &w).await;
    let sig = w.sign(c["message"].as_str().unwrap());
    let (s, v) = app
        .post(
            "/v1/agents/me/moi/participants",
            Some(&bob),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("participant_taken")));

    // Unbind; then the profile shows none.
    let path = format!("/v1/agents/me/moi/participants/{}", w.participant_id);
    let (s, _) = app.call("DELETE", &path, Some(&alice), None, None).await;
    assert_eq!(s, 204);
    let (s, v) = app.call("DELETE", &path, Some(&alice), None, None).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert!(p["moi_participants"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn another_key_a_tampered_message_and_a_foreign_id_are_refused_and_bind_nothing() {
    let app = App::spawn().await;
    let alice = app.register("alice").await;
    let w = MoiWallet::new();
    let other = MoiWallet::new();

    // A key that is not the participant's.
    let (s, v) = app
        .post(
            "/v1/agents/me/moi/challenges",
            Some(&alice),
            json!({ "participant_id": w.participant_id, "public_key": other.public_key }),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("participant_key_mismatch"))
    );
    // Not a participant id (an asset tag).
    let asset = format!("0x10{}", &w.participant_id[4..]);
    let (s, v) = app
        .post(
            "/v1/agents/me/moi/challenges",
            Some(&alice),
            json!({ "participant_id": asset, "public_key": w.public_key }),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("invalid_participant_id"))
    );

    let c = challenge(&app, &alice, &w).await;
    let message = c["message"].as_str().unwrap();
    // Signed by another MOI key; signed over another message; not a MOI signature at all.
    for (sig, code) in [
        // Another key: refused by its parity byte, or by the verification when the parities agree.
        (other.sign(message), "invalid_signature"),
        (w.sign(&format!("{message}.")), "signature_mismatch"),
        (format!("02{}", &w.sign(message)[2..]), "invalid_signature"),
    ] {
        let (s, v) = app
            .post(
                "/v1/agents/me/moi/participants",
                Some(&alice),
                json!({ "nonce": c["nonce"], "signature": sig }),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        let got = v["code"].as_str().unwrap();
        assert!(
            got == code || (code == "invalid_signature" && got == "signature_mismatch"),
            "{got} for {sig}"
        );
    }
    // Nothing was bound, and the challenge is still usable by the right signature.
    let (_, p) = app.get("/v1/agents/alice", None).await;
    assert!(p["moi_participants"].as_array().unwrap().is_empty());
    let (s, v) = app
        .post(
            "/v1/agents/me/moi/participants",
            Some(&alice),
            json!({ "nonce": c["nonce"], "signature": w.sign(message) }),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // Another agent's nonce is not found; an expired challenge is refused.
    let bob = app.register("bob").await;
    let c = challenge(&app, &alice, &other).await;
    let sig = other.sign(c["message"].as_str().unwrap());
    let (s, _) = app
        .post(
            "/v1/agents/me/moi/participants",
            Some(&bob),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!(s, 404);
    app.clock.advance(301);
    let (s, v) = app
        .post(
            "/v1/agents/me/moi/participants",
            Some(&alice),
            json!({ "nonce": c["nonce"], "signature": sig }),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("challenge_expired")));
}
