// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {MockERC20} from "test/utils/Tokens.sol";

/// @notice Owner powers, fees, claims and rescue: no admin path moves escrowed or claimable funds.
contract PactEscrowAdminTest is EscrowFixture {
    // ----- setConfig -----

    function test_setConfig_appendsSnapshot() public {
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ConfigUpdated(1, 250, 1 days, 3 days, 4000);
        vm.prank(owner);
        escrow.setConfig(250, 1 days, 3 days, 4000);
        assertEq(escrow.currentConfigId(), 1);
        IPactEscrow.Config memory c = escrow.config(1);
        assertEq(c.feeBps, 250);
        assertEq(c.reviewWindow, 1 days);
        assertEq(escrow.config(0).feeBps, FEE_BPS, "old snapshot untouched");
    }

    function test_setConfig_existingOrdersKeepTheirSnapshot() public {
        _proved(ID);
        vm.prank(owner);
        escrow.setConfig(MAX_FEE_BPS, 1 hours, 1 hours, 0);
        vm.warp(T0 + 1 hours);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.PROOF_SUBMITTED), "old review window applies");
        _accept(ID);
        assertEq(escrow.accruedFees(), _fee(AMOUNT), "old fee applies");
    }

    function test_setConfig_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        escrow.setConfig(1, 1, 1, 1);
    }

    function test_setConfig_feeAboveCap_reverts() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowFeeTooHigh.selector, MAX_FEE_BPS + 1, MAX_FEE_BPS)
        );
        escrow.setConfig(MAX_FEE_BPS + 1, REVIEW, ARBITER_WINDOW, 0);
    }

    function test_setConfig_feeAtCap_succeeds() public {
        vm.prank(owner);
        escrow.setConfig(MAX_FEE_BPS, REVIEW, ARBITER_WINDOW, 0);
    }

    function test_setConfig_invalidWindows_reverts() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidWindow.selector, 0));
        escrow.setConfig(0, 0, ARBITER_WINDOW, 0);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidWindow.selector, 0));
        escrow.setConfig(0, REVIEW, 0, 0);
        uint32 tooLong = 365 days + 1;
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidWindow.selector, tooLong));
        escrow.setConfig(0, tooLong, ARBITER_WINDOW, 0);
        escrow.setConfig(0, 365 days, 365 days, 0);
        vm.stopPrank();
    }

    function test_setConfig_invalidDefaultRuling_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidBps.selector, 10_001));
        escrow.setConfig(0, REVIEW, ARBITER_WINDOW, 10_001);
    }

    function test_setConfig_limit_reverts() public {
        // `_hot` is slot 5 (Ownable, Ownable2Step, EIP712's two fallback strings, the order mapping) and
        // holds the current config id in bits 232..247; checked first, then jumped to the last id.
        bytes32 slot = bytes32(uint256(5));
        vm.prank(owner);
        escrow.setConfig(0, REVIEW, ARBITER_WINDOW, 0);
        uint256 v = uint256(vm.load(address(escrow), slot));
        assertEq(uint16(v >> 232), 1, "layout assumption");
        vm.store(address(escrow), slot, bytes32((v & ~(uint256(0xffff) << 232)) | (uint256(0xfffe) << 232)));
        vm.prank(owner);
        escrow.setConfig(0, REVIEW, ARBITER_WINDOW, 0);
        assertEq(escrow.currentConfigId(), type(uint16).max);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowConfigLimitReached.selector, 65_536));
        escrow.setConfig(0, REVIEW, ARBITER_WINDOW, 0);
    }

    // ----- arbiter / treasury / pause -----

    function test_setArbiter_changesWhoResolves() public {
        _disputed(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ArbiterUpdated(arbiter, stranger);
        vm.prank(owner);
        escrow.setArbiter(stranger);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotArbiter.selector, arbiter));
        escrow.resolve(ID, 5000);
        vm.prank(stranger);
        escrow.resolve(ID, 5000);
    }

    function test_setArbiter_zeroOrNotOwner_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IPactEscrow.EscrowZeroAddress.selector);
        escrow.setArbiter(address(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        escrow.setArbiter(stranger);
    }

    function test_setTreasury_changesFeeRecipient() public {
        _proved(ID);
        _accept(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.TreasuryUpdated(treasury, stranger);
        vm.prank(owner);
        escrow.setTreasury(stranger);
        escrow.withdrawFees();
        assertEq(_bal(stranger), _fee(AMOUNT));
    }

    function test_setTreasury_zeroOrNotOwner_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IPactEscrow.EscrowZeroAddress.selector);
        escrow.setTreasury(address(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        escrow.setTreasury(stranger);
    }

    function test_setPaused_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        escrow.setPaused(true);
    }

    function test_setPaused_everyExitStillWorks() public {
        bytes32 a = _oid(buyer, "a");
        bytes32 b = _oid(buyer, "b");
        bytes32 c = _oid(buyer, "c");
        bytes32 d = _oid(buyer, "d");
        bytes32 e = _oid(buyer, "e");
        _proved(a);
        _fund(b);
        _reviewing(c);
        _disputed(d);
        _fund(e);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.PausedSet(owner, true);
        vm.prank(owner);
        escrow.setPaused(true);
        assertTrue(escrow.paused());
        _accept(a);
        vm.prank(buyer);
        escrow.cancel(b);
        vm.warp(T0 + REVIEW);
        escrow.advance(c);
        vm.prank(arbiter);
        escrow.resolve(d, 5000);
        vm.prank(seller);
        escrow.refund(e);
        escrow.withdrawFees();
        assertEq(escrow.liabilities(), 0);
    }

    // ----- ownership -----

    function test_transferOwnership_isTwoStep() public {
        vm.prank(owner);
        escrow.transferOwnership(stranger);
        assertEq(escrow.owner(), owner);
        assertEq(escrow.pendingOwner(), stranger);
        vm.prank(stranger);
        escrow.acceptOwnership();
        assertEq(escrow.owner(), stranger);
    }

    function test_acceptOwnership_notPending_reverts() public {
        vm.prank(owner);
        escrow.transferOwnership(stranger);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        escrow.acceptOwnership();
    }

    // ----- withdrawFees -----

    function test_withdrawFees_sendsAccruedToTreasury() public {
        _proved(ID);
        _accept(ID);
        uint256 fee = _fee(AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.FeesWithdrawn(treasury, stranger, fee);
        vm.prank(stranger);
        escrow.withdrawFees();
        assertEq(_bal(treasury), fee);
        assertEq(escrow.accruedFees(), 0);
        assertEq(escrow.liabilities(), 0);
        assertEq(_bal(address(escrow)), 0);
    }

    function test_withdrawFees_none_reverts() public {
        vm.expectRevert(IPactEscrow.EscrowNoFees.selector);
        escrow.withdrawFees();
    }

    function test_withdrawFees_neverTouchesEscrow() public {
        _fund(_oid(buyer, "open"));
        _proved(ID);
        _accept(ID);
        escrow.withdrawFees();
        assertEq(_bal(address(escrow)), AMOUNT);
        assertEq(escrow.liabilities(), AMOUNT);
    }

    // ----- claim -----

    function test_claim_deferredPayout() public {
        _proved(ID);
        TestUSDT(token).pause(); // every transfer fails: the payout becomes claimable
        vm.expectEmit(address(escrow));
        emit IPactEscrow.PayoutDeferred(ID, seller, AMOUNT - _fee(AMOUNT));
        _accept(ID);
        assertEq(escrow.claimable(seller), AMOUNT - _fee(AMOUNT));
        assertEq(escrow.liabilities(), AMOUNT);
        TestUSDT(token).unpause();
        vm.expectEmit(address(escrow));
        emit IPactEscrow.Claimed(seller, stranger, AMOUNT - _fee(AMOUNT));
        vm.prank(seller);
        escrow.claim(stranger);
        assertEq(_bal(stranger), AMOUNT - _fee(AMOUNT));
        assertEq(escrow.claimable(seller), 0);
        assertEq(escrow.liabilities(), _fee(AMOUNT));
    }

    function test_claim_nothing_reverts() public {
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNothingToClaim.selector, seller));
        escrow.claim(seller);
    }

    function test_claim_zeroOrEscrowRecipient_reverts() public {
        vm.startPrank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidRecipient.selector, address(0)));
        escrow.claim(address(0));
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidRecipient.selector, address(escrow)));
        escrow.claim(address(escrow));
        vm.stopPrank();
    }

    function test_claim_transferFails_revertsAndKeepsClaim() public {
        _proved(ID);
        TestUSDT(token).pause();
        _accept(ID);
        vm.prank(seller);
        vm.expectRevert();
        escrow.claim(seller);
        assertEq(escrow.claimable(seller), AMOUNT - _fee(AMOUNT));
    }

    // ----- rescue -----

    function test_rescue_onlySurplus() public {
        _fund(ID);
        _mint(address(escrow), 5e6); // a donation
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowRescueExceedsSurplus.selector, 5e6 + 1, 5e6));
        escrow.rescue(token, owner, 5e6 + 1);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.Rescued(token, owner, 5e6);
        vm.prank(owner);
        escrow.rescue(token, owner, 5e6);
        assertEq(_bal(address(escrow)), AMOUNT);
    }

    function test_rescue_noSurplus_reverts() public {
        _proved(ID);
        TestUSDT(token).pause();
        _accept(ID); // claimable
        TestUSDT(token).unpause();
        _fund(_oid(buyer, "open"));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowRescueExceedsSurplus.selector, 1, 0));
        escrow.rescue(token, owner, 1);
    }

    function test_rescue_otherToken_any() public {
        MockERC20 other = new MockERC20("Other", 18);
        other.mint(address(escrow), 1 ether);
        vm.prank(owner);
        escrow.rescue(address(other), owner, 1 ether);
        assertEq(other.balanceOf(owner), 1 ether);
    }

    function test_rescue_notOwner_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        escrow.rescue(token, stranger, 0);
    }

    function test_rescue_zeroRecipient_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IPactEscrow.EscrowZeroAddress.selector);
        escrow.rescue(token, address(0), 0);
    }
}
