#!/usr/bin/env python3
"""Regenerates lite_batch.json: EIP-712 test vectors for the Lite contracts' `applyBatch`.

Independent of the Solidity code: packing is done here byte by byte, hashing and signing with `cast`
(`cast keccak`, `cast abi-encode`, `cast wallet sign --no-hash`). Run from anywhere:

    python3 contracts/test/vectors/gen_lite_batch.py

`CAST` may point at the cast binary (default: node_modules/@foundry-rs/cast-linux-amd64/bin/cast).
"""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CAST = os.environ.get("CAST", os.path.join(ROOT, "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"))

DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
BATCH_TYPE = (
    "BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,"
    "uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)"
)
# anvil / hardhat test mnemonic, indices 4..9
SIGNER_KEYS = [
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]
THRESHOLD = 4
CHAIN_ID = 10
HOME_CHAIN_ID = 8453
LITES = {
    "StakingLite": ("Pact StakingLite", "0x00000000000000000000000000000000005714e1"),
    "IdentityLite": ("Pact IdentityLite", "0x00000000000000000000000000000000001d1e17"),
    "DIDLite": ("Pact DIDLite", "0x000000000000000000000000000000000000d1d1"),
}


def cast(*args):
    return subprocess.run([CAST, *args], check=True, capture_output=True, text=True).stdout.strip()


def keccak_hex(data_hex):
    return cast("keccak", data_hex if data_hex != "0x" else "0x")


def keccak_str(s):
    return cast("keccak", s)


def be(n, size):
    return int(n).to_bytes(size, "big")


def addr(a):
    return bytes.fromhex(a[2:].rjust(40, "0"))


def b32(h):
    return bytes.fromhex(h[2:].rjust(64, "0"))


def cursor(block, log_index):
    return (block << 32) | log_index


# ---- updates: each is its JSON form (as in the vectors' `updates`), packed byte by byte by `pack`
# (layouts from the interfaces' NatSpec)
def set_bond(c, id_, amount, unbonding):
    return {"kind": "set_bond", "cursor": str(c), "id": id_, "amount": str(amount), "unbonding": str(unbonding)}


def set_identity(c, id_, owner, wallet, entity_type, status):
    return {"kind": "set_identity", "cursor": str(c), "id": id_, "owner": owner.lower(), "wallet": wallet.lower(),
            "entityType": entity_type, "status": status}


def set_attribute(c, did, name, value, valid_to, value_info):
    return {"kind": "set_attribute", "cursor": str(c), "did": did.lower(), "name": name, "stored": value,
            "validTo": str(valid_to), "valueInfo": value_info}


def remove_attribute(c, did, name):
    return {"kind": "remove_attribute", "cursor": str(c), "did": did.lower(), "name": name}


def rotation(threshold, signers):
    return {"kind": "rotate", "threshold": threshold, "signers": [s.lower() for s in signers]}


def pack(u):
    k = u["kind"]
    if k == "set_bond":
        return be(1, 1) + be(u["cursor"], 8) + b32(u["id"]) + be(u["amount"], 12) + be(u["unbonding"], 12)
    if k == "set_identity":
        return (be(1, 1) + be(u["cursor"], 8) + b32(u["id"]) + addr(u["owner"]) + addr(u["wallet"])
                + be(u["entityType"], 1) + be(u["status"], 1))
    if k == "set_attribute":
        return (be(1, 1) + be(u["cursor"], 8) + addr(u["did"]) + b32(u["name"]) + b32(u["stored"])
                + be(u["validTo"], 8) + be(u["valueInfo"], 1))
    if k == "remove_attribute":
        return be(2, 1) + be(u["cursor"], 8) + addr(u["did"]) + b32(u["name"])
    if k == "rotate":
        return be(0xFF, 1) + be(u["threshold"], 1) + be(len(u["signers"]), 1) + b"".join(addr(s) for s in u["signers"])
    raise ValueError(k)


def domain_separator(name, verifying):
    enc = cast(
        "abi-encode", "f(bytes32,bytes32,bytes32,uint256,address)",
        keccak_str(DOMAIN_TYPE), keccak_str(name), keccak_str("1"), str(CHAIN_ID), verifying,
    )
    return keccak_hex(enc)


def struct_hash(h):
    enc = cast(
        "abi-encode", "f(bytes32,uint256,uint64,uint64,uint64,uint64,uint64,uint32,bytes32)",
        keccak_str(BATCH_TYPE), str(h["sourceChainId"]), str(h["signerSetId"]), str(h["sequence"]),
        str(h["fromCursor"]), str(h["toCursor"]), str(h["homeTimestamp"]), str(h["count"]), h["updatesHash"],
    )
    return keccak_hex(enc)


def sign_sorted(digest, keys):
    pairs = sorted(((cast("wallet", "address", "--private-key", k), k) for k in keys), key=lambda p: int(p[0], 16))
    sigs = "".join(cast("wallet", "sign", "--no-hash", "--private-key", k, digest)[2:] for _, k in pairs)
    return "0x" + sigs, [a for a, _ in pairs]


def batch(name, lite, seq, set_id, from_c, to_c, home_ts, updates, keys):
    packed = b"".join(pack(u) for u in updates)
    packed_hex = "0x" + packed.hex()
    header = {
        "sourceChainId": str(HOME_CHAIN_ID),
        "signerSetId": str(set_id),
        "sequence": str(seq),
        "fromCursor": str(from_c),
        "toCursor": str(to_c),
        "homeTimestamp": str(home_ts),
        "count": str(len(updates)),
        "updatesHash": keccak_hex(packed_hex),
    }
    dname, verifying = LITES[lite]
    dsep = domain_separator(dname, verifying)
    sh = struct_hash(header)
    digest = keccak_hex("0x1901" + dsep[2:] + sh[2:])
    sigs, signed_by = sign_sorted(digest, keys)
    return {
        "name": name,
        "lite": lite,
        "domain": {"name": dname, "version": "1", "chainId": str(CHAIN_ID), "verifyingContract": verifying},
        "domainSeparator": dsep,
        "header": header,
        "updates": updates,
        "packedUpdates": packed_hex,
        "structHash": sh,
        "digest": digest,
        "signedBy": signed_by,
        "signatures": sigs,
    }


def main():
    signers = [cast("wallet", "address", "--private-key", k) for k in SIGNER_KEYS]
    id_a = keccak_str("agent-a")
    id_b = keccak_str("machine-b")
    owner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    wallet = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    did = "0x90F79bf6EB2c4f867365E785E6f3F4b2CCC2C12f"
    attr = "0x" + b"did/svc/MessagingService".hex().ljust(64, "0")
    long_value_hash = keccak_str("https://agents.example.org/a/very/long/service/endpoint/that/needs/hashing")
    q = SIGNER_KEYS[:THRESHOLD]
    q2 = [SIGNER_KEYS[5], SIGNER_KEYS[3], SIGNER_KEYS[1], SIGNER_KEYS[0]]
    batches = [
        batch("staking: two bonds", "StakingLite", 1, 1, 0, cursor(1200, 0xFFFFFFFF), 1_750_000_000,
              [set_bond(cursor(1100, 2), id_a, 5_000_000, 0), set_bond(cursor(1150, 0), id_b, 7_000_000, 1_000_000)], q),
        batch("staking: heartbeat", "StakingLite", 2, 1, cursor(1200, 0xFFFFFFFF), cursor(1300, 0xFFFFFFFF),
              1_750_000_200, [], q2),
        batch("staking: rotate to 3-of-5", "StakingLite", 3, 1, cursor(1300, 0xFFFFFFFF), cursor(1300, 0xFFFFFFFF),
              1_750_000_200, [rotation(3, signers[1:])], q),
        batch("staking: bond under the new set", "StakingLite", 4, 2, cursor(1300, 0xFFFFFFFF),
              cursor(1400, 0xFFFFFFFF), 1_750_000_400, [set_bond(cursor(1350, 7), id_a, 4_000_000, 1_000_000)],
              SIGNER_KEYS[1:4]),
        batch("identity: register agent", "IdentityLite", 1, 1, 0, cursor(1200, 0xFFFFFFFF), 1_750_000_000,
              [set_identity(cursor(1100, 0), id_a, owner, wallet, 1, 1)], q),
        batch("did: set inline, set hashed, remove", "DIDLite", 1, 1, 0, cursor(1200, 0xFFFFFFFF), 1_750_000_000,
              [set_attribute(cursor(1100, 1), did, attr, "0x" + b"https://a.example".hex().ljust(64, "0"),
                             1_850_000_000, 17),
               set_attribute(cursor(1100, 2), wallet, attr, long_value_hash, 1_850_000_000, 0xFF),
               remove_attribute(cursor(1101, 0), did, attr)], q),
    ]
    out = {
        "description": "EIP-712 vectors for Lite.applyBatch; see README.md. Integers are decimal strings.",
        "typeStrings": {"domain": DOMAIN_TYPE, "batchHeader": BATCH_TYPE},
        "batchTypehash": keccak_str(BATCH_TYPE),
        "chainId": str(CHAIN_ID),
        "homeChainId": str(HOME_CHAIN_ID),
        "threshold": str(THRESHOLD),
        "signers": [{"privateKey": k, "address": a} for k, a in zip(SIGNER_KEYS, signers)],
        "batches": batches,
    }
    with open(os.path.join(HERE, "lite_batch.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
