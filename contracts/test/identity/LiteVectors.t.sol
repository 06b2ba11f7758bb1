// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {Test} from "forge-std/Test.sol";
import {IDIDLite} from "src/interfaces/identity/IDIDLite.sol";
import {IIdentityLite} from "src/interfaces/identity/IIdentityLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {IStakingLite} from "src/interfaces/identity/IStakingLite.sol";

/// @notice Checks the shared vectors in `test/vectors/lite_batch.json` (see its README): each Lite is deployed at
///         the vector's verifying contract on the vector's chain id, must compute exactly the vector's domain
///         separator, struct hash and digest, and must accept the vector's signatures, batch after batch, and then
///         hold the field values of the vector's `updates` (what the Rust codec packs and unpacks).
contract LiteVectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile("test/vectors/lite_batch.json");
    }

    function _u(string memory key) internal view returns (uint256) {
        return vm.parseJsonUint(json, key);
    }

    function _header(string memory p) internal view returns (ILiteBase.BatchHeader memory h) {
        h.sourceChainId = _u(string.concat(p, ".header.sourceChainId"));
        h.signerSetId = uint64(_u(string.concat(p, ".header.signerSetId")));
        h.sequence = uint64(_u(string.concat(p, ".header.sequence")));
        h.fromCursor = uint64(_u(string.concat(p, ".header.fromCursor")));
        h.toCursor = uint64(_u(string.concat(p, ".header.toCursor")));
        h.homeTimestamp = uint64(_u(string.concat(p, ".header.homeTimestamp")));
        h.count = uint32(_u(string.concat(p, ".header.count")));
        h.updatesHash = vm.parseJsonBytes32(json, string.concat(p, ".header.updatesHash"));
    }

    function test_batchStructHash_typeStringMatchesVectors() public view {
        assertEq(
            vm.parseJsonString(json, ".typeStrings.batchHeader"),
            "BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)"
        );
        assertEq(
            vm.parseJsonString(json, ".typeStrings.domain"),
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        );
        assertEq(
            vm.parseJsonBytes32(json, ".batchTypehash"),
            keccak256(bytes(vm.parseJsonString(json, ".typeStrings.batchHeader")))
        );
    }

    function test_applyBatch_matchesSharedVectors() public {
        vm.chainId(_u(".chainId"));
        uint256 homeChainId = _u(".homeChainId");
        uint8 threshold = uint8(_u(".threshold"));
        address[] memory signers = new address[](6);
        for (uint256 i; i < 6; ++i) {
            string memory p = string.concat(".signers[", vm.toString(i), "]");
            signers[i] = vm.parseJsonAddress(json, string.concat(p, ".address"));
            assertEq(vm.addr(_u(string.concat(p, ".privateKey"))), signers[i], "signer key/address");
        }
        uint256 n;
        uint256 checked;
        for (uint256 i; vm.keyExistsJson(json, string.concat(".batches[", vm.toString(i), "]")); ++i) {
            string memory p = string.concat(".batches[", vm.toString(i), "]");
            string memory lite = vm.parseJsonString(json, string.concat(p, ".lite"));
            address at = vm.parseJsonAddress(json, string.concat(p, ".domain.verifyingContract"));
            assertEq(_u(string.concat(p, ".domain.chainId")), block.chainid);
            if (at.code.length == 0) {
                deployCodeTo(
                    string.concat(lite, ".sol:", lite), abi.encode(homeChainId, signers, threshold), at
                );
            }
            ILiteBase l = ILiteBase(at);
            ILiteBase.BatchHeader memory h = _header(p);
            bytes memory packed = vm.parseJsonBytes(json, string.concat(p, ".packedUpdates"));
            assertEq(keccak256(packed), h.updatesHash, "updatesHash");
            assertEq(
                l.domainSeparator(), vm.parseJsonBytes32(json, string.concat(p, ".domainSeparator")), "domain"
            );
            assertEq(
                l.batchStructHash(h), vm.parseJsonBytes32(json, string.concat(p, ".structHash")), "structHash"
            );
            assertEq(l.batchDigest(h), vm.parseJsonBytes32(json, string.concat(p, ".digest")), "digest");
            l.applyBatch(h, packed, vm.parseJsonBytes(json, string.concat(p, ".signatures")));
            assertEq(l.lastSequence(), h.sequence);
            assertEq(l.lastCursor(), h.toCursor);
            checked += _checkUpdates(p, at);
            ++n;
        }
        assertEq(n, 6, "vector count");
        // 8 updates; the DID attribute set and removed in one batch holds only the removal.
        assertEq(checked, 7, "updates held by the Lites");
        // final state of the StakingLite after its four batches (the last one signed by set 2)
        ILiteBase staking = ILiteBase(0x00000000000000000000000000000000005714e1);
        assertEq(staking.signerSetId(), 2);
        assertEq(staking.threshold(), 3);
        (bool ok, bytes memory ret) =
            address(staking).staticcall(abi.encodeWithSignature("bondOf(bytes32)", keccak256("agent-a")));
        assertTrue(ok);
        (uint96 amount, uint96 unbonding, uint64 cursor) = abi.decode(ret, (uint96, uint96, uint64));
        assertEq(amount, 4_000_000);
        assertEq(unbonding, 1_000_000);
        assertEq(cursor, (uint64(1350) << 32) | 7);
    }

    /// @dev Each update of the batch at `p` whose record still carries its cursor (a later update of the same batch
    ///      may have overwritten it) is held by the Lite at `at` field by field, so the vector's `updates` are exactly
    ///      what the Lite decodes from `packedUpdates`. Returns how many were compared.
    function _checkUpdates(string memory p, address at) internal view returns (uint256 checked) {
        for (uint256 j; vm.keyExistsJson(json, string.concat(p, ".updates[", vm.toString(j), "]")); ++j) {
            string memory u = string.concat(p, ".updates[", vm.toString(j), "]");
            bytes32 kind = keccak256(bytes(vm.parseJsonString(json, string.concat(u, ".kind"))));
            if (kind == keccak256("rotate")) {
                assertEq(
                    ILiteBase(at).signers(), vm.parseJsonAddressArray(json, string.concat(u, ".signers"))
                );
                assertEq(ILiteBase(at).threshold(), _u(string.concat(u, ".threshold")));
                ++checked;
                continue;
            }
            uint64 cursor = uint64(_u(string.concat(u, ".cursor")));
            if (kind == keccak256("set_bond")) {
                IStakingLite.BondRecord memory r =
                    IStakingLite(at).bondOf(vm.parseJsonBytes32(json, string.concat(u, ".id")));
                if (r.cursor != cursor) continue;
                assertEq(r.amount, _u(string.concat(u, ".amount")), "amount");
                assertEq(r.unbonding, _u(string.concat(u, ".unbonding")), "unbonding");
            } else if (kind == keccak256("set_identity")) {
                IIdentityLite.IdentityRecord memory r =
                    IIdentityLite(at).identity(vm.parseJsonBytes32(json, string.concat(u, ".id")));
                if (r.cursor != cursor) continue;
                assertEq(r.owner, vm.parseJsonAddress(json, string.concat(u, ".owner")), "owner");
                assertEq(r.wallet, vm.parseJsonAddress(json, string.concat(u, ".wallet")), "wallet");
                assertEq(r.entityType, _u(string.concat(u, ".entityType")), "entityType");
                assertEq(r.status, _u(string.concat(u, ".status")), "status");
            } else {
                IDIDLite.AttributeRecord memory r = IDIDLite(at)
                    .attributeState(
                        vm.parseJsonAddress(json, string.concat(u, ".did")),
                        vm.parseJsonBytes32(json, string.concat(u, ".name"))
                    );
                if (r.cursor != cursor) continue;
                if (kind == keccak256("set_attribute")) {
                    assertFalse(r.removed, "removed");
                    assertEq(r.value, vm.parseJsonBytes32(json, string.concat(u, ".stored")), "stored");
                    assertEq(r.validTo, _u(string.concat(u, ".validTo")), "validTo");
                    assertEq(r.valueInfo, _u(string.concat(u, ".valueInfo")), "valueInfo");
                } else {
                    assertEq(kind, keccak256("remove_attribute"), "known update kind");
                    assertTrue(r.removed, "removed");
                }
            }
            ++checked;
        }
    }
}
// forge-lint: disable-end(unsafe-typecast)
