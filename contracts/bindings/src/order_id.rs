//! PactEscrow's order id layout (defined in `IPactEscrow.sol`, "Order ids"): the high 160 bits
//! are the buyer's address, the low 96 bits a nonce, so nobody but the buyer can occupy or imitate
//! an id handed out for that buyer. The zero buyer is the namespace of open offers. The layout is
//! pinned by `contracts/test/vectors/order_ids.json`, which Solidity checks too.

use alloy::primitives::{Address, B256};

/// The order id of `buyer` with `nonce` (only its low 96 bits are used).
pub fn order_id(buyer: Address, nonce: u128) -> B256 {
    let mut id = [0u8; 32];
    id[..20].copy_from_slice(buyer.as_slice());
    id[20..].copy_from_slice(&nonce.to_be_bytes()[4..]);
    B256::from(id)
}

/// A fresh order id in `buyer`'s namespace (96 random bits).
pub fn random_order_id(buyer: Address) -> B256 {
    order_id(buyer, rand_nonce())
}

/// The buyer whose namespace `id` is in (zero for an open offer's id).
pub fn buyer_of(id: B256) -> Address {
    Address::from_slice(&id[..20])
}

fn rand_nonce() -> u128 {
    rand::random::<u128>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_vectors_hold_both_ways() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../test/vectors/order_ids.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let vectors = v["vectors"].as_array().unwrap();
        assert_eq!(vectors.len() as u64, v["count"].as_u64().unwrap());
        for c in vectors {
            let buyer: Address = c["buyer"].as_str().unwrap().parse().unwrap();
            let nonce: u128 = c["nonce"].as_str().unwrap().parse().unwrap();
            let id: B256 = c["orderId"].as_str().unwrap().parse().unwrap();
            assert_eq!(order_id(buyer, nonce), id, "{c}");
            assert_eq!(buyer_of(id), buyer);
        }
    }

    #[test]
    fn random_ids_stay_in_the_namespace_and_differ() {
        let buyer = Address::repeat_byte(0xab);
        let (a, b) = (random_order_id(buyer), random_order_id(buyer));
        assert_eq!(buyer_of(a), buyer);
        assert_ne!(a, b);
        // Bits above 96 of the nonce never leak into the address part.
        assert_eq!(buyer_of(order_id(buyer, u128::MAX)), buyer);
    }
}
