//! The shared EIP-712 vectors (`contracts/test/vectors/lite_batch.json`): type strings, domain
//! separators, packing both ways (the vectors' `updates` pack to `packedUpdates` and unpack from
//! it, through the one codec `pact_bindings::lite_update`), struct hashes, digests and signatures
//! reproduced byte for byte.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolStruct,
};
use pact_bindings::lite_update::unpack;
use pact_relayer::batch::{
    BatchHeader, LiteKind, SolBatchHeader, Update, concat_sorted, domain, pack, recover,
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
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 6);
    let mut kinds = std::collections::HashSet::new();
    for b in batches {
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

        let ups: Vec<Update> = serde_json::from_value(b["updates"].clone()).unwrap();
        let packed = pack(&ups);
        let want: Bytes = b["packedUpdates"].as_str().unwrap().parse().unwrap();
        assert_eq!(packed, want, "{name}: packed updates");
        assert_eq!(
            unpack(kind, &want).unwrap(),
            ups,
            "{name}: unpacked updates"
        );
        // The JSON form is the codec's own.
        assert_eq!(serde_json::to_value(&ups).unwrap(), b["updates"], "{name}");
        kinds.extend(ups.iter().map(|u| (u.lite(), u.kind())));

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
    // Every kind of update is in the vectors.
    assert_eq!(kinds.len(), 5, "{kinds:?}");
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
