//! The members of `IPactEscrow`'s enums by discriminant, as the indexer stores them and the API
//! shows them. A JSON ABI carries enums as `uint8` without their members, so they are written here
//! once; a test checks them against `contracts/src/interfaces/IPactEscrow.sol`.

/// `IPactEscrow.State` (`NONE` = unused order id).
pub const STATES: [&str; 9] = [
    "NONE",
    "ESCROWED",
    "DELIVERING",
    "PROOF_SUBMITTED",
    "REVIEWING",
    "COMPLETED",
    "REFUNDED",
    "DISPUTED",
    "RESOLVED",
];

/// `IPactEscrow.Action` (what `advance` performs next).
pub const ACTIONS: [&str; 5] = [
    "NONE",
    "START_REVIEW",
    "COMPLETE",
    "REFUND_EXPIRED",
    "DEFAULT_RULING",
];

/// `IPactEscrow.RefundReason`.
pub const REFUND_REASONS: [&str; 3] = ["BUYER_CANCELLED", "SELLER_REFUNDED", "DELIVERY_EXPIRED"];

/// `IPactEscrow.Resolution`.
pub const RESOLUTIONS: [&str; 3] = ["ARBITER", "DEFAULT_RULING", "SETTLEMENT"];

/// The states an order can be in once funded (every state but `NONE`).
pub const FUNDED_STATES: &[&str] = STATES.split_at(1).1;

/// The name of a `State` discriminant (`getOrder(..).state`), `"UNKNOWN"` past the enum.
pub fn state_name(state: u8) -> &'static str {
    STATES.get(state as usize).copied().unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members of `enum <name> { … }` in the Solidity interface, in order.
    fn solidity_enum(name: &str) -> Vec<String> {
        let path = crate::toolchain::repo_root().join("contracts/src/interfaces/IPactEscrow.sol");
        let src = std::fs::read_to_string(&path).expect("IPactEscrow.sol");
        let start = src
            .find(&format!("enum {name} {{"))
            .unwrap_or_else(|| panic!("enum {name} in {}", path.display()));
        let body = &src[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
        body.split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect()
    }

    #[test]
    fn names_match_the_solidity_enums() {
        for (name, ours) in [
            ("State", &STATES[..]),
            ("Action", &ACTIONS[..]),
            ("RefundReason", &REFUND_REASONS[..]),
            ("Resolution", &RESOLUTIONS[..]),
        ] {
            assert_eq!(solidity_enum(name), ours, "IPactEscrow.{name}");
        }
        assert_eq!(state_name(5), "COMPLETED");
        assert_eq!(state_name(9), "UNKNOWN");
        assert_eq!(FUNDED_STATES, &STATES[1..]);
    }
}
