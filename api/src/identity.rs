//! Identity binding: a single-use challenge, signed by the wallet with EIP-191 `personal_sign`;
//! the API recovers the signer with alloy's `Signature` and binds the address to the agent.
//! The challenges themselves ([`issue`], [`take`], [`check_fresh`]) also serve the MOI
//! participant binding (`crate::moi`).

use crate::reply::{Created, NoContent};
use crate::{
    AppState,
    agents::BoundAddress,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    types::{hex0x, parse_address},
};
use alloy::primitives::{Address, Signature};
use axum::extract::State;
use pact_db::states::ChallengeScheme;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/agents/me/challenges` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeBody {
    /// The wallet to bind: `0x` + 40 hex digits.
    #[schemars(regex(pattern = r"^0x[0-9a-fA-F]{40}$"))]
    address: String,
}

/// A single-use challenge for the wallet to sign.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Challenge {
    /// Pass back with the signature.
    pub nonce: String,
    /// The exact message to sign with EIP-191 `personal_sign`.
    pub message: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Issues a challenge for `address`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn challenge(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<ChallengeBody>,
) -> ApiResult<Created<Challenge>> {
    let address = parse_address("address", &body.address)?;
    let line = format!("Address: {}", address.to_checksum(None));
    issue(
        &st,
        &auth,
        ChallengeScheme::Eip191,
        address.as_slice(),
        None,
        &line,
    )
    .await
}

/// Stores a single-use challenge of `scheme` for `subject` (and the `public_key` that will sign
/// it, for MOI) and answers it. The message names the agent, the subject (`subject_line`), the
/// nonce and the expiry.
pub(crate) async fn issue(
    st: &AppState,
    auth: &Auth,
    scheme: ChallengeScheme,
    subject: &[u8],
    public_key: Option<&[u8]>,
    subject_line: &str,
) -> ApiResult<Created<Challenge>> {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires_at = st.now() + st.settings.challenge_ttl_secs;
    let title = match scheme {
        ChallengeScheme::Eip191 => "Pact identity binding",
        ChallengeScheme::Moi => "Pact MOI participant binding",
    };
    let message = format!(
        "{title}\nAgent: {}\n{subject_line}\nNonce: {nonce}\nExpires: {expires_at}",
        auth.handle
    );
    sqlx::query!(
        "INSERT INTO identity_challenges (nonce, agent_id, scheme, subject, public_key, message, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &nonce,
        auth.agent_id,
        scheme.as_str(),
        subject,
        public_key,
        &message,
        expires_at,
    )
    .execute(&st.pool)
    .await?;
    Ok(Created(Challenge {
        nonce,
        message,
        expires_at,
    }))
}

/// A challenge being answered.
#[derive(Debug)]
pub(crate) struct Answered {
    /// The address or participant id it was issued for.
    pub subject: Vec<u8>,
    /// The key that must sign it (MOI).
    pub public_key: Option<Vec<u8>>,
    /// The exact message to verify the signature over.
    pub message: String,
}

/// Takes the agent's challenge `nonce` of `scheme` in `tx` and marks it used: 404 for a malformed,
/// unknown or foreign nonce (alike), then the freshness rule ([`check_fresh`]). The mark is undone
/// with `tx` when the proof that follows fails.
pub(crate) async fn take(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    auth: &Auth,
    scheme: ChallengeScheme,
    nonce: &str,
    now: i64,
) -> ApiResult<Answered> {
    if nonce.len() != 32 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("challenge"));
    }
    let Some(c) = sqlx::query!(
        "SELECT subject, public_key, message, expires_at, used_at FROM identity_challenges
         WHERE nonce = $1 AND agent_id = $2 AND scheme = $3 FOR UPDATE",
        nonce,
        auth.agent_id,
        scheme.as_str(),
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Err(ApiError::not_found("challenge"));
    };
    check_fresh(c.used_at, c.expires_at, now)?;
    sqlx::query!(
        "UPDATE identity_challenges SET used_at = $2 WHERE nonce = $1",
        nonce,
        now,
    )
    .execute(&mut **tx)
    .await?;
    Ok(Answered {
        subject: c.subject,
        public_key: c.public_key,
        message: c.message,
    })
}

/// `POST /v1/agents/me/addresses` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindBody {
    /// The challenge's nonce.
    nonce: String,
    /// The wallet's signature of the challenge message: `0x` + 65 bytes hex (r, s, v).
    #[schemars(regex(pattern = r"^0x[0-9a-fA-F]{130}$"))]
    signature: String,
}

/// Recovers the signer of an EIP-191 personal message from a 65-byte `r‖s‖v` signature
/// (`v` is 27/28 or 0/1; EIP-155 style `v` values and high-s signatures are refused).
pub fn recover_personal(message: &[u8], sig: &[u8]) -> Option<Address> {
    let (&v, _) = sig.split_last().filter(|_| sig.len() == 65)?;
    if !matches!(v, 0 | 1 | 27 | 28) {
        return None;
    }
    let signature = Signature::from_raw(sig).ok()?;
    // High-s signatures are malleable twins; EIP-2 refuses them.
    if signature.normalize_s().is_some() {
        return None;
    }
    signature.recover_address_from_msg(message).ok()
}

/// A challenge can be answered once, before it expires (EIP-191 and MOI bindings alike): 409
/// `challenge_used`, 422 `challenge_expired`.
fn check_fresh(used_at: Option<i64>, expires_at: i64, now: i64) -> ApiResult<()> {
    if used_at.is_some() {
        return Err(ApiError::conflict(
            "challenge_used",
            "this challenge was already used; request a new one",
        ));
    }
    if now >= expires_at {
        return Err(ApiError::unprocessable(
            "challenge_expired",
            "this challenge has expired; request a new one",
        ));
    }
    Ok(())
}

/// Binds the challenge's address after checking the signature.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn bind(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<BindBody>,
) -> ApiResult<Created<BoundAddress>> {
    let sig = body
        .signature
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .filter(|s| s.len() == 65)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_signature",
                "signature must be 0x followed by 65 bytes of hex (r, s, v)",
            )
        })?;
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let Answered {
        subject: address,
        message,
        ..
    } = take(&mut tx, &auth, ChallengeScheme::Eip191, &body.nonce, now).await?;
    let recovered = recover_personal(message.as_bytes(), &sig).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_signature",
            "no signer can be recovered from signature",
        )
    })?;
    if recovered.as_slice() != address.as_slice() {
        return Err(ApiError::unprocessable(
            "signature_mismatch",
            format!(
                "signature is by {}, not by the challenged address {}",
                recovered,
                hex0x(&address)
            ),
        ));
    }
    let existing: Option<(i64,)> = sqlx::query!(
        "SELECT agent_id FROM agent_addresses WHERE address = $1",
        &address,
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| (r.agent_id,));
    match existing {
        Some((a,)) if a == auth.agent_id => {}
        Some(_) => {
            return Err(ApiError::conflict(
                "address_taken",
                "this address is already bound to another agent",
            ));
        }
        None => {
            sqlx::query!(
                "INSERT INTO agent_addresses (address, agent_id, bound_at) VALUES ($1, $2, $3)",
                &address,
                auth.agent_id,
                now,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Created(BoundAddress {
        address: hex0x(&address),
        bound_at: now,
    }))
}

/// `DELETE /v1/agents/me/addresses/{address}`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn unbind(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(address): ApiPath<String>,
) -> ApiResult<NoContent> {
    let address = parse_address("address", &address)?;
    let n = sqlx::query!(
        "DELETE FROM agent_addresses WHERE address = $1 AND agent_id = $2",
        address.as_slice(),
        auth.agent_id,
    )
    .execute(&st.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("bound address"));
    }
    Ok(NoContent)
}

#[cfg(test)]
mod tests {
    use super::recover_personal;
    use alloy::{
        primitives::U256,
        signers::{SignerSync, local::PrivateKeySigner},
    };

    /// The secp256k1 group order: `n - s` is the high-s twin of a signature.
    const N: U256 = U256::from_limbs([
        0xBFD2_5E8C_D036_4141,
        0xBAAE_DCE6_AF48_A03B,
        0xFFFF_FFFF_FFFF_FFFE,
        0xFFFF_FFFF_FFFF_FFFF,
    ]);

    #[test]
    fn the_signer_is_recovered_and_malformed_or_malleable_signatures_are_refused() {
        let signer = PrivateKeySigner::random();
        let message = b"Pact identity binding\nNonce: 00";
        let sig = signer.sign_message_sync(message).unwrap().as_bytes();
        assert!(matches!(sig[64], 27 | 28));
        assert_eq!(recover_personal(message, &sig), Some(signer.address()));
        // v as 0/1 is the same signature.
        let mut v01 = sig;
        v01[64] -= 27;
        assert_eq!(recover_personal(message, &v01), Some(signer.address()));
        // Another message recovers another address.
        assert_ne!(recover_personal(b"other", &sig), Some(signer.address()));
        // EIP-155 style and other v values, wrong lengths, zero r and s.
        for v in [2, 26, 29, 35, 36, 37] {
            let mut bad = sig;
            bad[64] = v;
            assert_eq!(recover_personal(message, &bad), None, "v = {v}");
        }
        assert_eq!(recover_personal(message, &sig[..64]), None);
        assert_eq!(
            recover_personal(message, &[sig.as_slice(), &[0]].concat()),
            None
        );
        let mut zero = [0u8; 65];
        zero[64] = 27;
        assert_eq!(recover_personal(message, &zero), None);
        // The high-s twin (s' = n - s, parity flipped) recovers the same key: EIP-2 refuses it.
        let s = U256::from_be_slice(&sig[32..64]);
        let mut twin = sig;
        twin[32..64].copy_from_slice(&(N - s).to_be_bytes::<32>());
        twin[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(recover_personal(message, &twin), None);
    }
}
