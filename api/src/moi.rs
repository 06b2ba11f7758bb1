//! MOI participant binding: a signed challenge proves that an agent controls a MOI key, without
//! writing to MOI. The API verifies the signature the way MOI's own signer (`js-moi-signer`'s
//! `ECDSA_S256`) makes it:
//!
//! - the digest is BLAKE2b-256 of the raw message bytes (no prefix);
//! - the signature is `[0x01 (ECDSA_S256), len] ‖ DER(r, s) (len bytes) ‖ [parity]`, where
//!   `parity` is the first byte (`0x02`/`0x03`) of the signer's compressed public key;
//! - verification is strict: low-s only, minimal DER, as `@noble/secp256k1`'s `verify(strict)`.
//!
//! A participant id is 32 bytes: a tag (kind `participant` in the high nibble, version 0 in the
//! low one), a flags byte, two reserved bytes, a 24-byte fingerprint (bytes 1..25 of the
//! compressed public key) and a big-endian `u32` variant (sub-account). The challenge names both
//! the participant id and the public key; the key's fingerprint must be the id's.

use crate::reply::{Created, NoContent};
use crate::{
    AppState,
    auth::Auth,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    identity::{Challenge, issue, take},
    types::hex0x,
};
use axum::extract::State;
use blake2::{Blake2b, Digest, digest::consts::U32};
use k256::ecdsa::{Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
use pact_db::states::ChallengeScheme;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The signature algorithm byte of `ECDSA_S256` (secp256k1 over BLAKE2b-256).
pub const ECDSA_S256: u8 = 1;
/// Kind of a participant identifier (the tag's high nibble).
const KIND_PARTICIPANT: u8 = 0;
/// Highest participant identifier version the API understands.
const MAX_PARTICIPANT_VERSION: u8 = 0;
/// Flags a version-0 participant id may not set (only bit 7 is defined).
const UNSUPPORTED_FLAGS_V0: u8 = 0b0111_1111;

/// Why a MOI participant id, public key or signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoiError {
    /// Not `0x` + 64 hex digits.
    #[error("participant_id must be 0x followed by 32 bytes of hex")]
    IdFormat,
    /// The tag is not a version-0 participant tag.
    #[error("identifier tag {0:#04x} is not a MOI participant (kind 0, version 0)")]
    IdKind(u8),
    /// Flags outside the defined set.
    #[error("participant flags {0:#010b} set unsupported bits")]
    IdFlags(u8),
    /// Not a compressed secp256k1 point.
    #[error("public_key must be a 33-byte compressed secp256k1 key (0x02/0x03 prefix)")]
    PublicKey,
    /// The key's fingerprint is not the participant id's.
    #[error("public_key's fingerprint is not the participant id's")]
    KeyMismatch,
    /// Not a well-formed MOI signature.
    #[error("signature is not a MOI ECDSA_S256 signature: {0}")]
    SignatureFormat(&'static str),
    /// Another algorithm byte.
    #[error("signature algorithm {0} is not ECDSA_S256 (1)")]
    Algorithm(u8),
    /// The parity byte does not match the key.
    #[error("signature parity byte does not match the public key")]
    Parity,
    /// Well-formed but not by this key over this message (or high-s).
    #[error("signature does not verify for this public key and message")]
    Invalid,
}

impl MoiError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IdFormat | Self::IdKind(_) | Self::IdFlags(_) => "invalid_participant_id",
            Self::PublicKey => "invalid_public_key",
            Self::KeyMismatch => "participant_key_mismatch",
            Self::SignatureFormat(_) | Self::Algorithm(_) | Self::Parity => "invalid_signature",
            Self::Invalid => "signature_mismatch",
        }
    }
}

impl From<MoiError> for ApiError {
    fn from(e: MoiError) -> Self {
        ApiError::unprocessable(e.code(), e.to_string())
    }
}

/// A MOI participant identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticipantId(pub [u8; 32]);

impl ParticipantId {
    /// Parses and validates `0x` + 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, MoiError> {
        let bytes: [u8; 32] = s
            .strip_prefix("0x")
            .filter(|h| h.len() == 64)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or(MoiError::IdFormat)?;
        Self::from_bytes(bytes)
    }

    /// Validates raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, MoiError> {
        let tag = bytes[0];
        if tag >> 4 != KIND_PARTICIPANT || tag & 0x0f > MAX_PARTICIPANT_VERSION {
            return Err(MoiError::IdKind(tag));
        }
        if bytes[1] & UNSUPPORTED_FLAGS_V0 != 0 {
            return Err(MoiError::IdFlags(bytes[1]));
        }
        Ok(Self(bytes))
    }

    /// The 24-byte key fingerprint.
    pub fn fingerprint(&self) -> &[u8] {
        &self.0[4..28]
    }

    /// The variant (sub-account index).
    pub fn variant(&self) -> u32 {
        u32::from_be_bytes(self.0[28..32].try_into().expect("4 bytes"))
    }
}

/// A compressed secp256k1 public key of a MOI participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 33]);

impl PublicKey {
    /// Parses `0x` + 66 hex digits (or without `0x`, as MOI's wallet prints it) of a valid point.
    pub fn parse(s: &str) -> Result<Self, MoiError> {
        let h = s.strip_prefix("0x").unwrap_or(s);
        let bytes: [u8; 33] = hex::decode(h)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(MoiError::PublicKey)?;
        Self::from_bytes(bytes)
    }

    /// Validates a compressed point.
    pub fn from_bytes(bytes: [u8; 33]) -> Result<Self, MoiError> {
        if !matches!(bytes[0], 2 | 3) || VerifyingKey::from_sec1_bytes(&bytes).is_err() {
            return Err(MoiError::PublicKey);
        }
        Ok(Self(bytes))
    }

    /// Whether this key is the one `id` was derived from (its fingerprint).
    pub fn check_owns(&self, id: &ParticipantId) -> Result<(), MoiError> {
        if self.0[1..25] == *id.fingerprint() {
            Ok(())
        } else {
            Err(MoiError::KeyMismatch)
        }
    }
}

/// BLAKE2b-256 of `message`: what MOI's `ECDSA_S256` signs.
pub fn digest(message: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(message).into()
}

/// Verifies a serialized MOI `ECDSA_S256` signature of `message` by `key`.
pub fn verify(message: &[u8], sig: &[u8], key: &PublicKey) -> Result<(), MoiError> {
    let [alg, len, rest @ ..] = sig else {
        return Err(MoiError::SignatureFormat("shorter than its 2-byte prefix"));
    };
    if *alg != ECDSA_S256 {
        return Err(MoiError::Algorithm(*alg));
    }
    let len = usize::from(*len);
    if rest.len() != len + 1 {
        return Err(MoiError::SignatureFormat(
            "length is not prefix + DER + one parity byte",
        ));
    }
    let (der, parity) = rest.split_at(len);
    if parity[0] != key.0[0] {
        return Err(MoiError::Parity);
    }
    let signature =
        Signature::from_der(der).map_err(|_| MoiError::SignatureFormat("not strict DER"))?;
    // The high-s twin verifies mathematically; MOI's strict verification refuses it.
    if signature.normalize_s().is_some() {
        return Err(MoiError::Invalid);
    }
    let vk = VerifyingKey::from_sec1_bytes(&key.0).map_err(|_| MoiError::PublicKey)?;
    vk.verify_prehash(&digest(message), &signature)
        .map_err(|_| MoiError::Invalid)
}

/// `POST /v1/agents/me/moi/challenges` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoiChallengeBody {
    /// The participant to bind: `0x` + 64 hex digits.
    #[schemars(regex(pattern = r"^0x[0-9a-fA-F]{64}$"))]
    participant_id: String,
    /// The participant's compressed secp256k1 public key (the key that signs): 33 bytes of hex,
    /// with or without `0x`.
    #[schemars(regex(pattern = r"^(0x)?0[23][0-9a-fA-F]{64}$"))]
    public_key: String,
}

/// Issues a challenge for a MOI participant.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn challenge(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<MoiChallengeBody>,
) -> ApiResult<Created<Challenge>> {
    let id = ParticipantId::parse(&body.participant_id)?;
    let key = PublicKey::parse(&body.public_key)?;
    key.check_owns(&id)?;
    let line = format!("Participant: {}", hex0x(&id.0));
    issue(
        &st,
        &auth,
        ChallengeScheme::Moi,
        &id.0,
        Some(&key.0[..]),
        &line,
    )
    .await
}

/// `POST /v1/agents/me/moi/participants` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoiBindBody {
    /// The challenge's nonce.
    nonce: String,
    /// The challenge message signed by MOI's `ECDSA_S256` signer, serialized as MOI does
    /// (`01`, length, DER signature, parity byte), hex with or without `0x`.
    #[schemars(regex(pattern = r"^(0x)?01[0-9a-fA-F]{2,200}$"))]
    signature: String,
}

/// A MOI participant bound to an agent.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BoundParticipant {
    /// The participant id, `0x`-hex.
    pub participant_id: String,
    /// The public key that signed the binding, `0x`-hex (compressed).
    pub public_key: String,
    /// Unix seconds.
    pub bound_at: i64,
}

/// Binds the challenged participant after verifying its MOI signature.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn bind(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<MoiBindBody>,
) -> ApiResult<Created<BoundParticipant>> {
    let sig = hex::decode(body.signature.strip_prefix("0x").unwrap_or(&body.signature))
        .map_err(|_| MoiError::SignatureFormat("not hex"))?;
    let now = st.now();
    let mut tx = st.pool.begin().await?;
    let c = take(&mut tx, &auth, ChallengeScheme::Moi, &body.nonce, now).await?;
    let key = c
        .public_key
        .and_then(|k| <[u8; 33]>::try_from(k).ok())
        .ok_or_else(|| eyre::eyre!("a MOI challenge without its 33-byte public key"))?;
    let key = PublicKey::from_bytes(key)?;
    verify(c.message.as_bytes(), &sig, &key)?;
    let owner = sqlx::query_scalar!(
        "SELECT agent_id FROM agent_moi_participants WHERE participant_id = $1",
        &c.subject,
    )
    .fetch_optional(&mut *tx)
    .await?;
    match owner {
        Some(a) if a == auth.agent_id => {}
        Some(_) => {
            return Err(ApiError::conflict(
                "participant_taken",
                "this MOI participant is already bound to another agent",
            ));
        }
        None => {
            sqlx::query!(
                "INSERT INTO agent_moi_participants (participant_id, agent_id, public_key, bound_at)
                 VALUES ($1, $2, $3, $4)",
                &c.subject,
                auth.agent_id,
                &key.0[..],
                now,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Created(BoundParticipant {
        participant_id: hex0x(&c.subject),
        public_key: hex0x(&key.0),
        bound_at: now,
    }))
}

/// `DELETE /v1/agents/me/moi/participants/{participant_id}`.
#[tracing::instrument(skip_all, fields(agent = auth.agent_id), err(level = "info", Debug))]
pub async fn unbind(
    State(st): State<AppState>,
    auth: Auth,
    ApiPath(participant_id): ApiPath<String>,
) -> ApiResult<NoContent> {
    let id = ParticipantId::parse(&participant_id)?;
    let n = sqlx::query!(
        "DELETE FROM agent_moi_participants WHERE participant_id = $1 AND agent_id = $2",
        &id.0[..],
        auth.agent_id,
    )
    .execute(&st.pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::not_found("bound participant"));
    }
    Ok(NoContent)
}

/// The agent's bound MOI participants, oldest first.
pub async fn participants_of(st: &AppState, agent_id: i64) -> ApiResult<Vec<BoundParticipant>> {
    Ok(sqlx::query!(
        "SELECT participant_id, public_key, bound_at FROM agent_moi_participants
         WHERE agent_id = $1 ORDER BY bound_at, participant_id",
        agent_id,
    )
    .fetch_all(&st.pool)
    .await?
    .into_iter()
    .map(|r| BoundParticipant {
        participant_id: hex0x(&r.participant_id),
        public_key: hex0x(&r.public_key),
        bound_at: r.bound_at,
    })
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `js-moi-wallet` 0.7.1 (`Wallet.fromMnemonicSync(anvil's mnemonic)`, key 0,
    /// `wallet.sign(Buffer.from("hello"), 0, ECDSA_S256)`): MOI's signer, not this code.
    const ID: &str = "0x00000000621a0102fc9912c3fbc51ca7090a05561ffea001e68e787000000000";
    const KEY: &str = "03621a0102fc9912c3fbc51ca7090a05561ffea001e68e787050b89e4369cd8029";
    const SIG: &str = "01473045022100d986aad1632e4a1780951260f448ea5892f62b829f9e810264367abf7064dbf2022077014ef13c4eaa82cc2610c644e4973b1f3b08769f79c51946f5546cdd14844e03";

    fn sig() -> Vec<u8> {
        hex::decode(SIG).unwrap()
    }

    #[test]
    fn a_signature_made_by_moi_s_own_signer_verifies() {
        let id = ParticipantId::parse(ID).unwrap();
        let key = PublicKey::parse(KEY).unwrap();
        key.check_owns(&id).unwrap();
        assert_eq!(id.variant(), 0);
        verify(b"hello", &sig(), &key).unwrap();
        assert_eq!(verify(b"hellO", &sig(), &key), Err(MoiError::Invalid));
    }

    #[test]
    fn malformed_ids_keys_and_signatures_are_refused_with_their_reason() {
        let key = PublicKey::parse(KEY).unwrap();
        let id = ParticipantId::parse(ID).unwrap();
        // Ids: format, kind (asset tag 0x10), version (0x01), flags.
        assert_eq!(ParticipantId::parse(&ID[..64]), Err(MoiError::IdFormat));
        assert_eq!(ParticipantId::parse(&ID[2..]), Err(MoiError::IdFormat));
        for (tag, err) in [(0x10, MoiError::IdKind(0x10)), (0x01, MoiError::IdKind(1))] {
            let mut b = id.0;
            b[0] = tag;
            assert_eq!(ParticipantId::from_bytes(b), Err(err));
        }
        let mut flagged = id.0;
        flagged[1] = 0x01;
        assert_eq!(
            ParticipantId::from_bytes(flagged),
            Err(MoiError::IdFlags(1))
        );
        flagged[1] = 0x80; // the one defined flag
        ParticipantId::from_bytes(flagged).unwrap();
        // Keys: not on the curve, uncompressed prefix, wrong length; another key's fingerprint.
        let mut off = key.0;
        off[32] ^= 1;
        assert!(
            PublicKey::from_bytes(off).is_err() || PublicKey::from_bytes(off).unwrap() != key,
            "a changed x is another point or none"
        );
        let mut prefix = key.0;
        prefix[0] = 4;
        assert_eq!(PublicKey::from_bytes(prefix), Err(MoiError::PublicKey));
        assert_eq!(PublicKey::parse(&KEY[..64]), Err(MoiError::PublicKey));
        let mut other = id.0;
        other[4] ^= 1;
        assert_eq!(
            key.check_owns(&ParticipantId::from_bytes(other).unwrap()),
            Err(MoiError::KeyMismatch)
        );
        // Signatures: empty, algorithm, length, parity, DER, a flipped bit.
        let s = sig();
        assert!(matches!(
            verify(b"hello", &[], &key),
            Err(MoiError::SignatureFormat(_))
        ));
        let mut alg = s.clone();
        alg[0] = 2;
        assert_eq!(verify(b"hello", &alg, &key), Err(MoiError::Algorithm(2)));
        assert!(matches!(
            verify(b"hello", &s[..s.len() - 1], &key),
            Err(MoiError::SignatureFormat(_))
        ));
        assert!(matches!(
            verify(b"hello", &[s.as_slice(), &[3]].concat(), &key),
            Err(MoiError::SignatureFormat(_))
        ));
        let mut parity = s.clone();
        *parity.last_mut().unwrap() = 2;
        assert_eq!(verify(b"hello", &parity, &key), Err(MoiError::Parity));
        let mut der = s.clone();
        der[2] = 0x31;
        assert!(matches!(
            verify(b"hello", &der, &key),
            Err(MoiError::SignatureFormat(_))
        ));
        let mut flipped = s.clone();
        flipped[10] ^= 1;
        assert!(verify(b"hello", &flipped, &key).is_err());
    }

    #[test]
    fn the_high_s_twin_is_refused() {
        // s' = n - s verifies mathematically; MOI's strict verification (and ours) refuses it.
        let s = sig();
        let parsed = Signature::from_der(&s[2..s.len() - 1]).unwrap();
        let (r, lo) = parsed.split_scalars();
        let twin = Signature::from_scalars(r, -lo).unwrap();
        assert!(twin.normalize_s().is_some(), "the twin is high-s");
        let der = twin.to_der();
        let mut bytes = vec![ECDSA_S256, der.len() as u8];
        bytes.extend_from_slice(der.as_bytes());
        bytes.push(*s.last().unwrap());
        let key = PublicKey::parse(KEY).unwrap();
        assert_eq!(verify(b"hello", &bytes, &key), Err(MoiError::Invalid));
    }
}
