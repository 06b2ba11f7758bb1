// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {
    BlocklistToken,
    FeeOnTransferToken,
    MockERC20,
    ReentrantToken,
    ReturnsFalseToken
} from "test/utils/Tokens.sol";

/// @notice The same lifecycle against every token shape; token-specific behaviour below.
abstract contract TokenMatrixBase is EscrowFixture {
    function test_matrix_happyPath_paysSellerAndFees() public {
        _proved(ID);
        _accept(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        escrow.withdrawFees();
        assertEq(_bal(treasury), _fee(AMOUNT));
        assertEq(_bal(address(escrow)), 0);
        assertEq(escrow.liabilities(), 0);
    }

    function test_matrix_refundAndResolve() public {
        bytes32 a = keccak256("a");
        _fund(a);
        uint256 before = _bal(buyer);
        vm.prank(buyer);
        escrow.cancel(a);
        assertEq(_bal(buyer) - before, AMOUNT);
        _disputed(ID);
        vm.prank(arbiter);
        escrow.resolve(ID, 2500);
        uint256 gross = AMOUNT / 4;
        assertEq(_bal(seller), gross - _fee(gross));
        assertEq(escrow.liabilities(), _fee(gross));
    }

    function test_matrix_autoCompletion() public {
        _proved(ID);
        vm.warp(T0 + 2 * REVIEW);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = ID;
        assertEq(escrow.advanceMany(ids), 1);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
    }
}

contract PactEscrowTokenUSDTTest is TokenMatrixBase {
    function test_usdt_senderBlocklistedEscrow_deferredThenClaimed() public {
        _proved(ID);
        TestUSDT(token).addBlackList(address(escrow)); // the escrow cannot send for a while
        _accept(ID);
        assertEq(escrow.claimable(seller), AMOUNT - _fee(AMOUNT));
        TestUSDT(token).removeBlackList(address(escrow));
        vm.prank(seller);
        escrow.claim(seller);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
    }
}

contract PactEscrowToken18DecimalsTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new MockERC20("Eighteen", 18));
    }

    function test_decimals18_readAndLargeAmounts() public {
        assertEq(escrow.tokenDecimals(), 18);
        uint256 big = 1_000_000_000e18; // 1e27 < 2^96
        _mint(buyer, big);
        _fund(ID, big);
        _prove(ID);
        _accept(ID);
        assertEq(_bal(seller), big - _fee(big));
        assertEq(escrow.accruedFees(), _fee(big));
    }
}

contract PactEscrowTokenReturnsFalseTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new ReturnsFalseToken());
    }

    function test_returnsFalse_fundWithoutAllowance_reverts() public {
        _approve(buyer, 0);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, token));
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
    }

    function test_returnsFalse_payoutBecomesClaimable() public {
        _proved(ID);
        ReturnsFalseToken(token).setFailTransfers(true);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.PayoutDeferred(ID, seller, AMOUNT - _fee(AMOUNT));
        _accept(ID);
        assertEq(escrow.claimable(seller), AMOUNT - _fee(AMOUNT));
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, token));
        escrow.claim(seller);
        ReturnsFalseToken(token).setFailTransfers(false);
        vm.prank(seller);
        escrow.claim(seller);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
    }

    function test_returnsFalse_withdrawFeesFailure_reverts() public {
        _proved(ID);
        _accept(ID);
        ReturnsFalseToken(token).setFailTransfers(true);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, token));
        escrow.withdrawFees();
        assertEq(escrow.accruedFees(), _fee(AMOUNT));
    }
}

contract PactEscrowTokenFeeOnTransferTest is EscrowFixture {
    function _deployToken() internal override returns (address) {
        return address(new FeeOnTransferToken());
    }

    function test_feeOnTransfer_fund_reverts() public {
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowAmountMismatch.selector, AMOUNT, AMOUNT - AMOUNT / 100)
        );
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
        assertEq(_bal(address(escrow)), 0);
        assertEq(escrow.liabilities(), 0);
    }
}

contract PactEscrowTokenBlocklistTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new BlocklistToken());
    }

    function test_blocklist_blockedSeller_payoutClaimableToOtherAddress() public {
        _proved(ID);
        BlocklistToken(token).setBlocked(seller, true);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.PayoutDeferred(ID, seller, AMOUNT - _fee(AMOUNT));
        _accept(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.COMPLETED));
        assertEq(escrow.claimable(seller), AMOUNT - _fee(AMOUNT));
        escrow.withdrawFees(); // the fee is not blocked by the seller's problem
        assertEq(_bal(treasury), _fee(AMOUNT));
        vm.prank(seller);
        escrow.claim(stranger);
        assertEq(_bal(stranger), AMOUNT - _fee(AMOUNT));
        assertEq(escrow.liabilities(), 0);
    }

    function test_blocklist_blockedBuyer_doesNotBlockSellerInResolution() public {
        _disputed(ID);
        BlocklistToken(token).setBlocked(buyer, true);
        vm.prank(arbiter);
        escrow.resolve(ID, 6000);
        uint256 gross = (AMOUNT * 6000) / 10_000;
        assertEq(_bal(seller), gross - _fee(gross));
        assertEq(escrow.claimable(buyer), AMOUNT - gross);
    }

    function test_blocklist_blockedBuyer_refundClaimable() public {
        _fund(ID);
        BlocklistToken(token).setBlocked(buyer, true);
        vm.warp(DELIVER_BY + 1);
        escrow.advance(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REFUNDED));
        assertEq(escrow.claimable(buyer), AMOUNT);
        assertEq(escrow.liabilities(), AMOUNT);
    }

    function test_blocklist_blockedBuyer_cannotFund() public {
        BlocklistToken(token).setBlocked(buyer, true);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(BlocklistToken.Blocked.selector, buyer));
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
    }
}

contract PactEscrowTokenReentrantTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new ReentrantToken());
    }

    function test_reentrant_advanceDuringPayout_paysOnce() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW);
        ReentrantToken(token).arm(address(escrow), address(escrow), abi.encodeCall(escrow.advance, (ID)));
        escrow.advance(ID);
        assertFalse(ReentrantToken(token).lastCallOk(), "re-entered advance must fail");
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        assertEq(escrow.accruedFees(), _fee(AMOUNT));
    }

    function test_reentrant_advanceManyDuringRefund_paysOnce() public {
        _fund(ID);
        vm.warp(DELIVER_BY + 1);
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = ID;
        ids[1] = ID;
        ReentrantToken(token).arm(address(escrow), address(escrow), abi.encodeCall(escrow.advanceMany, (ids)));
        uint256 before = _bal(buyer);
        assertEq(escrow.advanceMany(ids), 1);
        assertTrue(ReentrantToken(token).lastCallOk(), "nested advanceMany skips the finished order");
        assertEq(abi.decode(ReentrantToken(token).lastReturn(), (uint256)), 0);
        assertEq(_bal(buyer) - before, AMOUNT);
        assertEq(_bal(address(escrow)), 0);
    }

    function test_reentrant_withdrawFeesDuringWithdraw_reverts() public {
        _proved(ID);
        _accept(ID);
        bytes32 other = keccak256("other");
        _proved(other);
        _accept(other);
        ReentrantToken(token).arm(address(escrow), address(escrow), abi.encodeCall(escrow.withdrawFees, ()));
        escrow.withdrawFees();
        assertFalse(ReentrantToken(token).lastCallOk());
        assertEq(_bal(treasury), 2 * _fee(AMOUNT));
        assertEq(escrow.liabilities(), 0);
    }

    function test_reentrant_rescueDuringPayout_cannotTakeOwedFunds() public {
        // The escrow's owner is the reentrant token's target: even the owner re-entering mid-payout finds no
        // surplus, because the cumulative counters are only updated after the transfer.
        _fund(keccak256("open"));
        _proved(ID);
        vm.prank(owner);
        escrow.transferOwnership(token);
        vm.prank(token);
        escrow.acceptOwnership();
        ReentrantToken(token)
            .arm(address(escrow), address(escrow), abi.encodeCall(escrow.rescue, (token, stranger, 1)));
        _accept(ID);
        assertFalse(ReentrantToken(token).lastCallOk());
        assertEq(_bal(stranger), 0);
        assertEq(_bal(address(escrow)), escrow.liabilities());
    }
}
