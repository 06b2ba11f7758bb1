// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IdentityLite} from "src/identity/IdentityLite.sol";
import {IIdentityLite} from "src/interfaces/identity/IIdentityLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

contract IdentityLiteTest is LiteTestBase {
    string internal constant NAME = "Pact IdentityLite";
    IdentityLite internal lite;
    bytes32 internal constant ID = keccak256("agent-1");
    address internal owner = makeAddr("owner");
    address internal wallet = makeAddr("wallet");

    function setUp() public {
        _initSigners();
        lite = new IdentityLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        vm.warp(1_800_000_000);
    }

    function _apply(bytes memory packed, uint32 count, uint64 toCursor, uint64 homeTs) internal {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, count, toCursor, homeTs);
        lite.applyBatch(h, packed, _sign(NAME, lite, h, _quorum()));
    }

    function test_identity_revertsWhenUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IIdentityLite.IdentityLiteUnknown.selector, ID));
        lite.identity(ID);
    }

    function test_identity_returnsRecordAndLastUpdated() public {
        _apply(_identityUpdate(_cursor(77, 5), ID, owner, wallet, 1, 1), 1, _cursor(78, 0), 1_800_000_000);
        IIdentityLite.IdentityRecord memory r = lite.identity(ID);
        assertEq(r.owner, owner);
        assertEq(r.wallet, wallet);
        assertEq(r.entityType, 1);
        assertEq(r.status, 1);
        assertEq(r.cursor, _cursor(77, 5));
        (uint64 c, uint64 homeBlock) = lite.lastUpdated(ID);
        assertEq(c, _cursor(77, 5));
        assertEq(homeBlock, 77);
    }

    function test_lastUpdated_zeroWhenUnknown() public view {
        (uint64 c, uint64 homeBlock) = lite.lastUpdated(ID);
        assertEq(c, 0);
        assertEq(homeBlock, 0);
    }

    function test_isActive_followsStatusWalletAndFreshness() public {
        _apply(
            _identityUpdate(_cursor(77, 5), ID, owner, wallet, 2, 1), 1, _cursor(78, 0), 1_800_000_000 - 10
        );
        assertTrue(lite.isActive(ID, wallet, 10));
        assertFalse(lite.isActive(ID, wallet, 9));
        assertFalse(lite.isActive(ID, owner, 10));
        assertFalse(lite.isActive(keccak256("x"), wallet, 10));
        // suspended
        _apply(_identityUpdate(_cursor(79, 0), ID, owner, wallet, 2, 2), 1, _cursor(79, 0), 1_800_000_000);
        assertFalse(lite.isActive(ID, wallet, 10));
        assertEq(lite.identity(ID).status, 2);
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_applyBatch_decodesIdentity(bytes32 id, address o, address w, uint8 t, uint8 s) public {
        _assertDecodesIdentity(id, o, w, t, s);
    }

    function test_applyBatch_decodesIdentity_pinned() public {
        _assertDecodesIdentity(bytes32(type(uint256).max), address(type(uint160).max), address(1), 255, 255);
        _assertDecodesIdentity(bytes32(0), address(0), address(type(uint160).max), 2, 3);
    }

    function _assertDecodesIdentity(bytes32 id, address o, address w, uint8 t, uint8 s) internal {
        uint64 c = _cursor(uint256(lite.lastSequence()) + 1000, 1);
        _apply(_identityUpdate(c, id, o, w, t, s), 1, c, 1_800_000_000);
        (uint64 rc,) = lite.lastUpdated(id);
        assertEq(rc, c);
        IIdentityLite.IdentityRecord memory r = lite.identity(id);
        assertEq(r.owner, o);
        assertEq(r.wallet, w);
        assertEq(r.entityType, t);
        assertEq(r.status, s);
        assertEq(r.cursor, c);
    }
}
