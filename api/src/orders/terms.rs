//! The canonical terms: what the terms hash of an agreed order covers.
//!
//! The encoding is RFC 8785 (JSON Canonicalization Scheme) of one typed object, written by
//! `serde_json_canonicalizer`: keys sorted, no whitespace, strings with the minimal escapes,
//! numbers as ECMAScript writes them. It is the encoding the terms hashes already funded on chain
//! were computed with (the former hand-built string produced the same bytes for these fields), so
//! every stored and on-chain `termsHash` stays valid: a migration could not recompute the hashes
//! funded on chain. An EIP-712 struct would have changed every hash.

use super::AppOrder;
use crate::types::hex0x;
use alloy::primitives::{Address, B256, U256, keccak256};
use pact_db::bytea;
use serde::Serialize;

/// The largest integer an RFC 8785 number holds exactly (`2^53 - 1`): a chain id above it has no
/// canonical form.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The agreed terms in the form the terms hash covers. `fund(orderId, seller, amount, deliverBy,
/// termsHash)` takes `termsHash = keccak256(utf8(canonical()))`.
///
/// The canonical form (specified in `api/README.md`, "Terms hash") is the RFC 8785 JSON of an
/// object with the keys `amount` (base units as a string of decimal digits), `chain_id`
/// (number), `deliver_by` (unix seconds, number), `details` (string, `""` when absent), `escrow`,
/// `order_id`, `seller`, `token` (`0x` + lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalTerms<'a> {
    /// The amount in base units.
    pub amount: U256,
    /// Chain id of the escrow (at most [`MAX_SAFE_INTEGER`]).
    pub chain_id: u64,
    /// Delivery deadline, unix seconds (the `uint32`-sized `deliverBy`).
    pub deliver_by: u32,
    /// Free-text details (trimmed as stored; empty when absent).
    pub details: &'a str,
    /// The escrow contract.
    pub escrow: Address,
    /// The bytes32 order id.
    pub order_id: B256,
    /// The seller's payout address.
    pub seller: Address,
    /// The settlement token.
    pub token: Address,
}

/// The JSON object of [`CanonicalTerms`], field by field as RFC 8785 writes it.
#[derive(Serialize)]
struct Encoded<'a> {
    amount: String,
    chain_id: u64,
    deliver_by: u32,
    details: &'a str,
    escrow: String,
    order_id: String,
    seller: String,
    token: String,
}

impl CanonicalTerms<'_> {
    /// The canonical JSON string (RFC 8785).
    pub fn canonical(&self) -> String {
        let encoded = Encoded {
            amount: self.amount.to_string(),
            chain_id: self.chain_id,
            deliver_by: self.deliver_by,
            details: self.details,
            escrow: hex0x(self.escrow.as_slice()),
            order_id: hex0x(self.order_id.as_slice()),
            seller: hex0x(self.seller.as_slice()),
            token: hex0x(self.token.as_slice()),
        };
        // Strings and integers within 2^53 always have a canonical form.
        serde_json_canonicalizer::to_string(&encoded).expect("strings and safe integers encode")
    }

    /// keccak256 of the canonical string: the `termsHash` of `fund`.
    pub fn hash(&self) -> B256 {
        keccak256(self.canonical().as_bytes())
    }
}

impl AppOrder {
    /// The canonical terms, once amount, deadline and seller address are set (and the chain id
    /// and deadline fit their canonical types).
    pub(crate) fn canonical_terms(&self) -> Option<CanonicalTerms<'_>> {
        Some(CanonicalTerms {
            amount: self.amount.as_deref()?.parse().ok()?,
            chain_id: u64::try_from(self.chain_id)
                .ok()
                .filter(|c| *c <= MAX_SAFE_INTEGER)?,
            deliver_by: u32::try_from(self.deliver_by?).ok()?,
            details: self.details.as_deref().unwrap_or(""),
            escrow: bytea::address(&self.escrow).ok()?,
            order_id: bytea::b256(&self.order_id).ok()?,
            seller: bytea::address(self.seller_address.as_deref()?).ok()?,
            token: bytea::address(&self.token).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of `api/README.md`, "Terms hash" (hash checked with `cast keccak`).
    #[test]
    fn canonical_terms_match_the_documented_vector() {
        let details = "Two endpoints: \"orders\" & \"search\"\nTabs\tand ünïcode ✓";
        let t = CanonicalTerms {
            amount: U256::from(95_500_000u64),
            chain_id: 31337,
            deliver_by: 1_800_604_800,
            details,
            escrow: "0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512"
                .parse()
                .unwrap(),
            order_id: "0xb36c30c9bcaa21818b63ce45c35390f98a74301f782b6e19b6765622458acebe"
                .parse()
                .unwrap(),
            seller: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                .parse()
                .unwrap(),
            token: "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                .parse()
                .unwrap(),
        };
        let canonical = r#"{"amount":"95500000","chain_id":31337,"deliver_by":1800604800,"details":"Two endpoints: \"orders\" & \"search\"\nTabs\tand ünïcode ✓","escrow":"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512","order_id":"0xb36c30c9bcaa21818b63ce45c35390f98a74301f782b6e19b6765622458acebe","seller":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","token":"0x5fbdb2315678afecb367f032d93f642f64180aa3"}"#;
        assert_eq!(t.canonical(), canonical);
        assert_eq!(
            t.hash().to_string(),
            "0xd5c76bb030d8a706750dbcbf9f508302bf357492e75d80f7ae6756da60ffb83b"
        );
        // The canonical string is JSON whose fields read back as the terms.
        let v: serde_json::Value = serde_json::from_str(canonical).unwrap();
        assert_eq!(v["details"], details);
        assert_eq!(v["deliver_by"], 1_800_604_800);
        // Leading zeros of the stored amount do not change the hash; details without text are "".
        assert_eq!(
            CanonicalTerms {
                amount: "0095500000".parse().unwrap(),
                ..t
            }
            .hash(),
            t.hash()
        );
        let empty = CanonicalTerms { details: "", ..t }.canonical();
        assert!(empty.contains(r#","details":"","#), "{empty}");
        // Every field is covered.
        let others = [
            CanonicalTerms {
                amount: U256::from(95_500_001u64),
                ..t
            },
            CanonicalTerms { chain_id: 1, ..t },
            CanonicalTerms {
                deliver_by: 1_800_604_801,
                ..t
            },
            CanonicalTerms {
                details: "other",
                ..t
            },
            CanonicalTerms {
                escrow: Address::ZERO,
                ..t
            },
            CanonicalTerms {
                order_id: B256::ZERO,
                ..t
            },
            CanonicalTerms {
                seller: Address::ZERO,
                ..t
            },
            CanonicalTerms {
                token: Address::ZERO,
                ..t
            },
        ];
        for o in others {
            assert_ne!(o.hash(), t.hash(), "{}", o.canonical());
        }
    }

    fn vector() -> CanonicalTerms<'static> {
        CanonicalTerms {
            amount: U256::ZERO,
            chain_id: 1,
            deliver_by: 0,
            details: "",
            escrow: Address::repeat_byte(0xab),
            order_id: B256::repeat_byte(0x01),
            seller: Address::repeat_byte(0xcd),
            token: Address::repeat_byte(0xef),
        }
    }

    /// RFC 8785 strings: the six short escapes, `\u00xx` in lowercase for the other control
    /// characters, everything else (DEL, `/`, U+2028, astral characters) as itself.
    #[test]
    fn details_are_written_as_rfc8785_strings() {
        let details = "a/b\u{7f}\u{2028}\u{1F600}\u{1f}\u{0}\u{8}\u{c}\r\"\\é";
        let c = CanonicalTerms {
            details,
            ..vector()
        }
        .canonical();
        let want = "\"details\":\"a/b\u{7f}\u{2028}\u{1F600}\\u001f\\u0000\\b\\f\\r\\\"\\\\é\"";
        assert!(c.contains(want), "{c}");
    }

    /// The whole object for fixed values: zero and the largest uint256 amount, the uint32 and
    /// 2^53 - 1 bounds as integers (no exponent), keys sorted.
    #[test]
    fn the_bounds_have_fixed_encodings() {
        let t = vector();
        assert_eq!(
            t.canonical(),
            format!(
                r#"{{"amount":"0","chain_id":1,"deliver_by":0,"details":"","escrow":"0x{}","order_id":"0x{}","seller":"0x{}","token":"0x{}"}}"#,
                "ab".repeat(20),
                "01".repeat(32),
                "cd".repeat(20),
                "ef".repeat(20)
            )
        );
        let max = CanonicalTerms {
            amount: U256::MAX,
            chain_id: MAX_SAFE_INTEGER,
            deliver_by: u32::MAX,
            ..t
        }
        .canonical();
        assert!(
            max.starts_with(
                r#"{"amount":"115792089237316195423570985008687907853269984665640564039457584007913129639935","chain_id":9007199254740991,"deliver_by":4294967295,"#
            ),
            "{max}"
        );
    }
}
