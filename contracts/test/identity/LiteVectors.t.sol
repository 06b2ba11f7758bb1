// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {Test} from "forge-std/Test.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";

/// @notice Checks the shared vectors in `test/vectors/lite_batch.json` (see its README): each Lite is deployed at
///         the vector's verifying contract on the vector's chain id, must compute exactly the vector's domain
///         separator, struct hash and digest, and must accept the vector's signatures, batch after batch.
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
            ++n;
        }
        assertEq(n, 6, "vector count");
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
}
// forge-lint: disable-end(unsafe-typecast)
