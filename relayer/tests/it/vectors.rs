//! The shared EIP-712 vectors (`contracts/test/vectors/lite_batch.json`): type strings, domain
//! separators, packing, struct hashes, digests and signatures reproduced byte for byte.

use alloy::{
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolStruct,
};
use pact_relayer::batch::{
    BatchHeader, LiteKind, SolBatchHeader, Update, concat_sorted, cursor, domain, pack, recover,
    sign_digest,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/vectors/lite_batch.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn num(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

fn b32(v: &Value) -> B256 {
    v.as_str().unwrap().parse().unwrap()
}

fn word(s: &str) -> B256 {
    let mut w = [0u8; 32];
    w[..s.len()].copy_from_slice(s.as_bytes());
    B256::from(w)
}

/// The updates of each batch, exactly as `gen_lite_batch.py` builds them.
fn expected_updates(signers: &[Address]) -> Vec<Vec<Update>> {
    let id_a = keccak256("agent-a");
    let id_b = keccak256("machine-b");
    let owner = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let wallet = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    let did = address!("90F79bf6EB2c4f867365E785E6f3F4b2CCC2C12f");
    let attr = word("did/svc/MessagingService");
    let long_hash =
        keccak256("https://agents.example.org/a/very/long/service/endpoint/that/needs/hashing");
    vec![
        vec![
            Update::SetBond {
                cursor: cursor(1100, 2),
                id: id_a,
                amount: 5_000_000,
                unbonding: 0,
            },
            Update::SetBond {
                cursor: cursor(1150, 0),
                id: id_b,
                amount: 7_000_000,
                unbonding: 1_000_000,
            },
        ],
        vec![],
        vec![Update::Rotate {
            threshold: 3,
            signers: signers[1..].to_vec(),
        }],
        vec![Update::SetBond {
            cursor: cursor(1350, 7),
            id: id_a,
            amount: 4_000_000,
            unbonding: 1_000_000,
        }],
        vec![Update::SetIdentity {
            cursor: cursor(1100, 0),
            id: id_a,
            owner,
            wallet,
            entity_type: 1,
            status: 1,
        }],
        vec![
            Update::SetAttribute {
                cursor: cursor(1100, 1),
                did,
                name: attr,
                value: word("https://a.example"),
                valid_to: 1_850_000_000,
                value_info: 17,
            },
            Update::SetAttribute {
                cursor: cursor(1100, 2),
                did: wallet,
                name: attr,
                value: long_hash,
                valid_to: 1_850_000_000,
                value_info: 0xff,
            },
            Update::RemoveAttribute {
                cursor: cursor(1101, 0),
                did,
                name: attr,
            },
        ],
    ]
}

#[test]
fn type_strings_and_typehash_match_the_vectors() {
    let v = vectors();
    assert_eq!(
        SolBatchHeader::eip712_encode_type(),
        v["typeStrings"]["batchHeader"].as_str().unwrap()
    );
    assert_eq!(
        keccak256(SolBatchHeader::eip712_encode_type().as_bytes()),
        b32(&v["batchTypehash"])
    );
    assert_eq!(
        alloy::sol_types::Eip712Domain::encode_type(&domain(LiteKind::Staking, 1, Address::ZERO)),
        v["typeStrings"]["domain"].as_str().unwrap()
    );
}

#[test]
fn every_batch_reproduces_packing_digest_and_signatures() {
    let v = vectors();
    let keys: Vec<PrivateKeySigner> = v["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["privateKey"].as_str().unwrap().parse().unwrap())
        .collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    for (s, k) in v["signers"].as_array().unwrap().iter().zip(&addrs) {
        assert_eq!(
            s["address"].as_str().unwrap().parse::<Address>().unwrap(),
            *k
        );
    }
    let chain_id = num(&v["chainId"]);
    let updates = expected_updates(&addrs);
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), updates.len());
    for (b, ups) in batches.iter().zip(&updates) {
        let name = b["name"].as_str().unwrap();
        let kind = LiteKind::from_contract_name(b["lite"].as_str().unwrap()).unwrap();
        let lite: Address = b["domain"]["verifyingContract"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            b["domain"]["name"].as_str().unwrap(),
            kind.domain_name(),
            "{name}"
        );
        let dom = domain(kind, chain_id, lite);
        assert_eq!(
            dom.separator(),
            b32(&b["domainSeparator"]),
            "{name}: domain separator"
        );

        let packed = pack(ups);
        let want: Bytes = b["packedUpdates"].as_str().unwrap().parse().unwrap();
        assert_eq!(packed, want, "{name}: packed updates");

        let h = &b["header"];
        let header = BatchHeader {
            source_chain_id: num(&h["sourceChainId"]),
            signer_set_id: num(&h["signerSetId"]),
            sequence: num(&h["sequence"]),
            from_cursor: num(&h["fromCursor"]),
            to_cursor: num(&h["toCursor"]),
            home_timestamp: num(&h["homeTimestamp"]),
            count: num(&h["count"]) as u32,
            updates_hash: b32(&h["updatesHash"]),
        };
        assert_eq!(header.count as usize, ups.len(), "{name}: count");
        assert_eq!(
            keccak256(&packed),
            header.updates_hash,
            "{name}: updatesHash"
        );
        assert_eq!(
            header.struct_hash(),
            b32(&b["structHash"]),
            "{name}: struct hash"
        );
        let digest = header.digest(kind, chain_id, lite);
        assert_eq!(digest, b32(&b["digest"]), "{name}: digest");

        let signed_by: Vec<Address> = b["signedBy"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().parse().unwrap())
            .collect();
        let mut sigs = Vec::new();
        for a in &signed_by {
            let key = &keys[addrs.iter().position(|x| x == a).unwrap()];
            let sig = sign_digest(key, digest).unwrap();
            assert_eq!(recover(&sig, digest).unwrap(), *a);
            sigs.push((*a, sig));
        }
        let want: Bytes = b["signatures"].as_str().unwrap().parse().unwrap();
        assert_eq!(concat_sorted(sigs), want, "{name}: signatures");
    }
}

#[test]
fn recover_rejects_high_s_bad_v_and_tampering() {
    let key: PrivateKeySigner =
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
            .parse()
            .unwrap();
    let digest = keccak256("x");
    let sig = sign_digest(&key, digest).unwrap();
    assert_eq!(recover(&sig, digest).unwrap(), key.address());
    let mut bad_v = sig;
    bad_v[64] = 1;
    assert!(recover(&bad_v, digest).is_err());
    // Malleated twin: s' = n - s, v flipped — valid ECDSA, rejected as high s.
    let n = U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap();
    let s = U256::from_be_slice(&sig[32..64]);
    let mut high = sig;
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if sig[64] == 27 { 28 } else { 27 };
    assert!(recover(&high, digest).is_err());
    let mut tampered = sig;
    tampered[5] ^= 1;
    assert_ne!(recover(&tampered, digest).ok(), Some(key.address()));
}
