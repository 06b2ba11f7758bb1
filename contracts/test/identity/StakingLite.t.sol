// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StakingLite} from "src/identity/StakingLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {IStakingLite} from "src/interfaces/identity/IStakingLite.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

contract StakingLiteTest is LiteTestBase {
    string internal constant NAME = "Pact StakingLite";
    StakingLite internal lite;
    bytes32 internal constant ID = keccak256("machine-1");

    function setUp() public {
        _initSigners();
        lite = new StakingLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        vm.warp(1_800_000_000);
    }

    function _apply(bytes memory packed, uint32 count, uint64 toCursor, uint64 homeTs) internal {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, count, toCursor, homeTs);
        lite.applyBatch(h, packed, _sign(NAME, lite, h, _quorum()));
    }

    function test_bondOf_returnsZeroWhenUnknown() public view {
        IStakingLite.BondRecord memory b = lite.bondOf(ID);
        assertEq(b.amount, 0);
        assertEq(b.unbonding, 0);
        assertEq(b.cursor, 0);
    }

    function test_bondOf_returnsLatestWithinBatch() public {
        bytes memory packed =
            bytes.concat(_bondUpdate(_cursor(10, 1), ID, 100, 0), _bondUpdate(_cursor(10, 2), ID, 60, 40));
        _apply(packed, 2, _cursor(10, 2), 1_800_000_000);
        IStakingLite.BondRecord memory b = lite.bondOf(ID);
        assertEq(b.amount, 60);
        assertEq(b.unbonding, 40);
        assertEq(b.cursor, _cursor(10, 2));
    }

    function test_isBonded_trueWhenFreshAndEnough() public {
        _apply(_bondUpdate(_cursor(10, 1), ID, 100, 0), 1, _cursor(10, 1), 1_800_000_000 - 30);
        assertTrue(lite.isBonded(ID, 100, 30));
        assertTrue(lite.isBonded(ID, 0, 30));
        assertFalse(lite.isBonded(ID, 101, 30));
    }

    function test_isBonded_falseWhenStale() public {
        _apply(_bondUpdate(_cursor(10, 1), ID, 100, 0), 1, _cursor(10, 1), 1_800_000_000 - 31);
        assertFalse(lite.isBonded(ID, 1, 30));
        // a heartbeat refreshes the mirror
        _apply("", 0, _cursor(11, 0), 1_800_000_000);
        assertTrue(lite.isBonded(ID, 1, 30));
    }

    function test_isBonded_trueWhenHomeClockAhead() public {
        _apply(_bondUpdate(_cursor(10, 1), ID, 100, 0), 1, _cursor(10, 1), 1_800_000_050);
        assertTrue(lite.isBonded(ID, 1, 0));
    }

    function test_isBonded_falseWhenZeroAmountOrUnknown() public {
        _apply(_bondUpdate(_cursor(10, 1), ID, 0, 100), 1, _cursor(10, 1), 1_800_000_000);
        assertFalse(lite.isBonded(ID, 0, 1 days));
        assertFalse(lite.isBonded(keccak256("unknown"), 0, 1 days));
    }

    function test_isBonded_falseBeforeFirstBatch() public view {
        assertFalse(lite.isBonded(ID, 0, type(uint256).max));
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_applyBatch_decodesBond(bytes32 id, uint96 amount, uint96 unbonding, uint32 logIndex)
        public
    {
        _assertDecodesBond(id, amount, unbonding, logIndex);
    }

    function test_applyBatch_decodesBond_pinned() public {
        _assertDecodesBond(
            bytes32(type(uint256).max), type(uint96).max, type(uint96).max - 1, type(uint32).max
        );
        _assertDecodesBond(bytes32(0), 0, 0, 0);
    }

    function _assertDecodesBond(bytes32 id, uint96 amount, uint96 unbonding, uint32 logIndex) internal {
        uint64 c = _cursor(uint256(lite.lastSequence()) + 1000, logIndex);
        _apply(_bondUpdate(c, id, amount, unbonding), 1, c, 1_800_000_000);
        IStakingLite.BondRecord memory b = lite.bondOf(id);
        assertEq(b.amount, amount);
        assertEq(b.unbonding, unbonding);
        assertEq(b.cursor, c);
    }
}
