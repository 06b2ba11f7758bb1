#!/usr/bin/env bash
# Sends the happy path as real transactions to anvil (port 18545) and prints receipt gasUsed (whole-tx gas),
# in the same steady state as test/escrow/PactEscrow.gas.t.sol: a completed order (fees accrued), an open order,
# treasury/seller already holding tokens, a large finite allowance. Run from contracts/ after deploying:
#   script/escrow-gas-probe.sh <token> <escrow> <label> [finite|exact|max] [uri|hash]
# With `exact`, the buyer approves exactly the order's amount before the measured fund (per-order approval: the
# pull clears the allowance, and the refund is part of the receipt's gasUsed); with `max`, an unlimited allowance
# (never written by the token). `hash` proves with `submitProofHash` instead of `submitProof` with a 66-byte URI.
# Use a fresh escrow per run.
# Buyer = anvil account 1, seller = anvil account 2 (both need token balances; DeployEscrow mints them).
set -euo pipefail
C=../node_modules/@foundry-rs/cast-linux-amd64/bin/cast
RPC=http://127.0.0.1:18545
DEP=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
BK=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
SK=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
SELLER=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
TOKEN=$1; ESCROW=$2; LABEL=$3
case "${4:-finite}" in
  finite) allowance= ;;
  exact) allowance=100000000 ;;
  max) allowance=0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff ;;
  *) echo "escrow-gas-probe: allowance mode must be finite, exact or max" >&2; exit 2 ;;
esac
proof=${5:-uri}
case "$proof" in uri | hash) ;; *) echo "escrow-gas-probe: proof kind must be uri or hash" >&2; exit 2 ;; esac
DB=$(( $($C block latest -f timestamp -r $RPC) + 5*86400 ))
send() { $C send --json -r $RPC --private-key "$@" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(int(r["gasUsed"],16), r["status"])'; }
send $BK $TOKEN "approve(address,uint256)" $ESCROW 0 >/dev/null
send $BK $TOKEN "approve(address,uint256)" $ESCROW 1000000000000000000000000000000 >/dev/null
W1=$($C keccak "done-$LABEL-$ESCROW"); W2=$($C keccak "open-$LABEL-$ESCROW"); X=$($C keccak x)
send $BK $ESCROW "fund(bytes32,address,uint256,uint64,bytes32)" $W1 $SELLER 100000000 $DB $X >/dev/null
send $SK $ESCROW "submitProof(bytes32,bytes32,string)" $W1 $X "x" >/dev/null
send $BK $ESCROW "accept(bytes32)" $W1 >/dev/null
send $BK $ESCROW "fund(bytes32,address,uint256,uint64,bytes32)" $W2 $SELLER 100000000 $DB $X >/dev/null
ID=0x6f1d6a7e0b3c4d2e9a8f7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e
TERMS=0x9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658
PROOF=0x2b2f7e3d9a1c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b
URI=ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
if [ -n "$allowance" ]; then
  send $BK $TOKEN "approve(address,uint256)" $ESCROW 0 >/dev/null
  send $BK $TOKEN "approve(address,uint256)" $ESCROW $allowance >/dev/null
fi
f=$(send $BK $ESCROW "fund(bytes32,address,uint256,uint64,bytes32)" $ID $SELLER 100000000 $DB $TERMS)
if [ "$proof" = hash ]; then
  p=$(send $SK $ESCROW "submitProofHash(bytes32,bytes32)" $ID $PROOF)
else
  p=$(send $SK $ESCROW "submitProof(bytes32,bytes32,string)" $ID $PROOF $URI)
fi
a=$(send $BK $ESCROW "accept(bytes32)" $ID)
echo "$LABEL fund=$f submitProof=$p accept=$a"
