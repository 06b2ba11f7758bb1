//! The canonical terms: what the terms hash of an agreed order covers.

use super::AppOrder;
use crate::types::hex0x;
use alloy::primitives::{Address, B256, keccak256};

/// The agreed terms in the form the terms hash covers. `fund(orderId, seller, amount, deliverBy,
/// termsHash)` takes `termsHash = keccak256(utf8(canonical()))`.
///
/// The canonical form (specified in `api/README.md`, "Terms hash") is one JSON object without
/// whitespace, keys in this order: `amount` (base units, decimal digits without leading zeros, as
/// a string), `chain_id` (number), `deliver_by` (unix seconds, number), `details` (string, `""`
/// when absent), `escrow`, `order_id`, `seller`, `token` (`0x` + lowercase hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalTerms<'a> {
    /// The amount in base units (decimal digits).
    pub amount: &'a str,
    /// Chain id of the escrow.
    pub chain_id: i64,
    /// Delivery deadline, unix seconds.
    pub deliver_by: i64,
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

impl CanonicalTerms<'_> {
    /// The canonical JSON string.
    pub fn canonical(&self) -> String {
        let digits = self.amount.trim_start_matches('0');
        let amount = if digits.is_empty() { "0" } else { digits };
        // serde_json writes a string with the minimal JSON escapes (`\"`, `\\`, `\n`, `\t`,
        // ... and `\u00xx` for other control characters) and every other character as UTF-8.
        let details = serde_json::to_string(self.details).unwrap_or_default();
        format!(
            "{{\"amount\":\"{amount}\",\"chain_id\":{},\"deliver_by\":{},\"details\":{details},\
             \"escrow\":\"{}\",\"order_id\":\"{}\",\"seller\":\"{}\",\"token\":\"{}\"}}",
            self.chain_id,
            self.deliver_by,
            hex0x(self.escrow.as_slice()),
            hex0x(self.order_id.as_slice()),
            hex0x(self.seller.as_slice()),
            hex0x(self.token.as_slice()),
        )
    }

    /// keccak256 of the canonical string: the `termsHash` of `fund`.
    pub fn hash(&self) -> B256 {
        keccak256(self.canonical().as_bytes())
    }
}

impl AppOrder {
    /// The canonical terms, once amount, deadline and seller address are set.
    pub(crate) fn canonical_terms(&self) -> Option<CanonicalTerms<'_>> {
        Some(CanonicalTerms {
            amount: self.amount.as_deref()?,
            chain_id: self.chain_id,
            deliver_by: self.deliver_by?,
            details: self.details.as_deref().unwrap_or(""),
            escrow: Address::try_from(self.escrow.as_slice()).ok()?,
            order_id: B256::try_from(self.order_id.as_slice()).ok()?,
            seller: Address::try_from(self.seller_address.as_deref()?).ok()?,
            token: Address::try_from(self.token.as_slice()).ok()?,
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
            amount: "95500000",
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
        // Leading zeros of the amount do not change the hash; details without text are "".
        assert_eq!(
            CanonicalTerms {
                amount: "0095500000",
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
                amount: "95500001",
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
}
