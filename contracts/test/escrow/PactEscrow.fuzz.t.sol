// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";

import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";

/// @notice Fuzz tests over amounts, fees and timings; each has a pinned twin with fixed inputs.
contract PactEscrowFuzzTest is EscrowFixture {
    // ----- accept: seller out + fee = amount, fee = floor(amount * feeBps / 10 000) -----

    function testFuzz_accept_splitsAmountAndFee(uint256 amount, uint256 feeBps) public {
        _acceptSplit(bound(amount, 1, 1_000_000_000e6), bound(feeBps, 0, MAX_FEE_BPS));
    }

    function test_accept_splitsAmountAndFee_pinned() public {
        _acceptSplit(123_456_789, 250);
        _acceptSplit(1, MAX_FEE_BPS); // fee rounds down to zero
    }

    function _acceptSplit(uint256 amount, uint256 feeBps) internal {
        vm.prank(owner);
        escrow.setConfig(uint16(feeBps), REVIEW, ARBITER_WINDOW, DEFAULT_SELLER_BPS);
        bytes32 id = _oidSalt(buyer, keccak256(abi.encode(amount, feeBps)));
        uint256 sellerBefore = _bal(seller);
        uint256 feesBefore = escrow.accruedFees();
        _fund(id, amount);
        _prove(id);
        _accept(id);
        uint256 fee = (amount * feeBps) / 10_000;
        assertEq(_bal(seller) - sellerBefore, amount - fee);
        assertEq(escrow.accruedFees() - feesBefore, fee);
        assertLe(fee * 10_000, amount * MAX_FEE_BPS, "fee above cap");
    }

    // ----- resolve: buyer out + seller out + fee = amount; no fee on the buyer's share -----

    function testFuzz_resolve_splitsExactly(uint256 amount, uint256 sellerBps, uint256 feeBps) public {
        _resolveSplit(
            bound(amount, 1, type(uint96).max / 2), bound(sellerBps, 0, 10_000), bound(feeBps, 0, MAX_FEE_BPS)
        );
    }

    function test_resolve_splitsExactly_pinned() public {
        _resolveSplit(100e6 + 7, 3333, 999);
        _resolveSplit(1, 10_000, MAX_FEE_BPS);
        _resolveSplit(99, 0, MAX_FEE_BPS);
    }

    function _resolveSplit(uint256 amount, uint256 sellerBps, uint256 feeBps) internal {
        vm.prank(owner);
        escrow.setConfig(uint16(feeBps), REVIEW, ARBITER_WINDOW, DEFAULT_SELLER_BPS);
        _mint(buyer, amount);
        bytes32 id = _oidSalt(buyer, keccak256(abi.encode("resolve", amount, sellerBps, feeBps)));
        _fund(id, amount);
        _prove(id);
        _dispute(id, seller);
        uint256 buyerBefore = _bal(buyer);
        uint256 sellerBefore = _bal(seller);
        uint256 feesBefore = escrow.accruedFees();
        vm.prank(arbiter);
        escrow.resolve(id, uint16(sellerBps));
        uint256 buyerOut = _bal(buyer) - buyerBefore;
        uint256 sellerOut = _bal(seller) - sellerBefore;
        uint256 fee = escrow.accruedFees() - feesBefore;
        assertEq(buyerOut + sellerOut + fee, amount);
        uint256 gross = (amount * sellerBps) / 10_000;
        assertEq(buyerOut, amount - gross);
        assertEq(fee, (gross * feeBps) / 10_000);
    }

    // ----- timing: the automatic steps fire exactly at their windows -----

    function testFuzz_advance_followsReviewClock(uint256 proofAt, uint256 elapsed) public {
        _reviewClock(bound(proofAt, 0, DELIVER_BY - T0), bound(elapsed, 0, 3 * uint256(REVIEW)));
    }

    function test_advance_followsReviewClock_pinned() public {
        _reviewClock(0, REVIEW - 1);
        _reviewClock(1 days, REVIEW);
        _reviewClock(DELIVER_BY - T0, 2 * uint256(REVIEW));
    }

    function _reviewClock(uint256 proofAt, uint256 elapsed) internal {
        bytes32 id = _oidSalt(buyer, keccak256(abi.encode("clock", proofAt, elapsed)));
        uint256 start = block.timestamp;
        _fund(id);
        vm.warp(T0 + proofAt);
        _prove(id);
        vm.warp(T0 + proofAt + elapsed);
        IPactEscrow.State expected = elapsed < REVIEW
            ? IPactEscrow.State.PROOF_SUBMITTED
            : elapsed < 2 * uint256(REVIEW) ? IPactEscrow.State.REVIEWING : IPactEscrow.State.COMPLETED;
        assertEq(uint8(_state(id)), uint8(expected), "view");
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = id;
        uint256 advanced = escrow.advanceMany(ids);
        assertEq(advanced, elapsed < REVIEW ? 0 : 1);
        assertEq(uint8(_state(id)), uint8(expected), "after advance");
        if (expected == IPactEscrow.State.COMPLETED) {
            (IPactEscrow.Action action,) = escrow.nextDeadline(id);
            assertEq(uint8(action), uint8(IPactEscrow.Action.NONE));
        }
        vm.warp(start);
    }

    // ----- timing: delivery expiry refunds only strictly after deliverBy -----

    function testFuzz_advance_deliveryExpiry(uint256 deliverIn, uint256 warpTo) public {
        _expiry(bound(deliverIn, 1, 365 days), bound(warpTo, 0, 400 days));
    }

    function test_advance_deliveryExpiry_pinned() public {
        _expiry(1, 1);
        _expiry(1, 2);
        _expiry(3 days, 3 days + 1);
    }

    function _expiry(uint256 deliverIn, uint256 warpTo) internal {
        bytes32 id = _oidSalt(buyer, keccak256(abi.encode("expiry", deliverIn, warpTo)));
        uint64 deliverBy = uint64(block.timestamp + deliverIn);
        uint256 start = block.timestamp;
        vm.prank(buyer);
        escrow.fund(id, seller, AMOUNT, deliverBy, TERMS);
        vm.warp(start + warpTo);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = id;
        uint256 buyerBefore = _bal(buyer);
        uint256 advanced = escrow.advanceMany(ids);
        bool due = block.timestamp > deliverBy;
        assertEq(advanced, due ? 1 : 0);
        assertEq(_bal(buyer) - buyerBefore, due ? AMOUNT : 0);
        vm.warp(start);
    }

    // ----- the default ruling applies from disputedAt + arbiterWindow -----

    function testFuzz_advance_defaultRuling(uint256 arbiterWindow, uint256 defaultBps, uint256 elapsed)
        public
    {
        _defaultRuling(
            bound(arbiterWindow, 1, 365 days), bound(defaultBps, 0, 10_000), bound(elapsed, 0, 400 days)
        );
    }

    function test_advance_defaultRuling_pinned() public {
        _defaultRuling(7 days, 5000, 7 days);
        _defaultRuling(7 days, 10_000, 7 days - 1);
        _defaultRuling(1, 0, 1);
    }

    function _defaultRuling(uint256 arbiterWindow, uint256 defaultBps, uint256 elapsed) internal {
        vm.prank(owner);
        escrow.setConfig(FEE_BPS, REVIEW, uint32(arbiterWindow), uint16(defaultBps));
        bytes32 id = _oidSalt(buyer, keccak256(abi.encode("ruling", arbiterWindow, defaultBps, elapsed)));
        uint256 start = block.timestamp;
        _disputed(id);
        vm.warp(start + elapsed);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = id;
        uint256 sellerBefore = _bal(seller);
        uint256 advanced = escrow.advanceMany(ids);
        bool due = elapsed >= arbiterWindow;
        assertEq(advanced, due ? 1 : 0);
        uint256 gross = (AMOUNT * defaultBps) / 10_000;
        assertEq(_bal(seller) - sellerBefore, due ? gross - _fee(gross) : 0);
        vm.warp(start);
    }

    // ----- proofs: the hand-encoded event carries any URI byte-exact; the hash-only entry point is the same
    //       transition and event as `submitProof` with an empty URI -----

    function testFuzz_submitProof_eventAndHashOnlyTwin(bytes32 proofHash, bytes calldata uri, uint256 at)
        public
    {
        _proofTwins(proofHash, string(uri), bound(at, T0, DELIVER_BY));
    }

    function test_submitProof_eventAndHashOnlyTwin_pinned() public {
        _proofTwins(bytes32(0), "", T0);
        _proofTwins(PROOF, "x", DELIVER_BY);
        _proofTwins(
            keccak256("p"), "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", T0 + 1
        );
        _proofTwins(bytes32(type(uint256).max), string(new bytes(32)), T0 + 7); // exactly one word of zeros
    }

    function _proofTwins(bytes32 proofHash, string memory uri, uint256 at) internal {
        bytes32 withUri = _oidSalt(buyer, keccak256(abi.encode("uri", proofHash, uri, at)));
        bytes32 hashOnly = _oidSalt(buyer, keccak256(abi.encode("hash", proofHash, uri, at)));
        bytes32 emptyUri = _oidSalt(buyer, keccak256(abi.encode("empty", proofHash, uri, at)));
        _fund(withUri);
        _fund(hashOnly);
        _fund(emptyUri);
        vm.warp(at);
        vm.startPrank(seller);
        vm.recordLogs();
        escrow.submitProof(withUri, proofHash, uri);
        escrow.submitProofHash(hashOnly, proofHash);
        escrow.submitProof(emptyUri, proofHash, "");
        vm.stopPrank();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 3);
        // The hand-written log is the exact ABI encoding Solidity's `emit` would produce.
        assertEq(logs[0].data, abi.encode(proofHash, uri));
        assertEq(logs[0].topics[1], withUri);
        assertEq(logs[1].data, abi.encode(proofHash, ""));
        assertEq(logs[1].data, logs[2].data);
        for (uint256 i; i < 3; ++i) {
            assertEq(logs[i].topics.length, 2);
            assertEq(logs[i].topics[0], IPactEscrow.ProofSubmitted.selector);
        }
        IPactEscrow.Order memory a = escrow.getOrder(hashOnly);
        IPactEscrow.Order memory b = escrow.getOrder(emptyUri);
        assertEq(uint8(a.state), uint8(IPactEscrow.State.PROOF_SUBMITTED));
        assertEq(abi.encode(a), abi.encode(b));
        assertEq(abi.encode(escrow.getOrder(withUri)), abi.encode(b));
        assertEq(a.stateSince, at);
        vm.warp(T0);
    }
}
