// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Vm} from "forge-std/Vm.sol";

import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {TetherLike, TetherUpgrade} from "test/utils/TetherLike.sol";
import {
    BlocklistToken,
    DoubleEntryToken,
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
        bytes32 a = _oid(buyer, "a");
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

    /// @notice Weak spot 5 of the review: a `transfer` that moves the funds yet returns false. The payout is decided by
    ///         the balance change, so the seller is paid once and nothing becomes claimable (before the fix the
    ///         seller was paid AND credited: liabilities exceeded the balance by the payout).
    function test_returnsFalse_movedButFalse_paysOnceNeverCredits() public {
        _proved(ID);
        ReturnsFalseToken(token).setLie(true);
        vm.recordLogs();
        _accept(ID);
        assertEq(vm.getRecordedLogs().length, 1, "OrderCompleted only, no PayoutDeferred");
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        assertEq(escrow.claimable(seller), 0);
        assertEq(escrow.liabilities(), _bal(address(escrow)));
        // A refund and both legs of a split behave the same.
        bytes32 a = _oid(buyer, "a");
        _fund(a);
        _disputed(_oid(buyer, "b"));
        uint256 before = _bal(buyer);
        vm.prank(buyer);
        escrow.cancel(a);
        vm.prank(arbiter);
        escrow.resolve(_oid(buyer, "b"), 5000);
        assertEq(_bal(buyer) - before, AMOUNT + AMOUNT / 2);
        assertEq(escrow.claimable(buyer) + escrow.claimable(seller), 0);
        assertEq(escrow.liabilities(), _bal(address(escrow)));
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
        bytes32 other = _oid(buyer, "other");
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
        _fund(_oid(buyer, "open"));
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

/// @notice The Tether-faithful token before deprecation: the matrix, the fee switch turned on between funding and
///         payout, and `destroyBlackFunds` of a party.
contract PactEscrowTokenTetherTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new TetherLike());
    }

    /// @notice Weak spot 4 of the review: the fee switch turned on after funding. The escrow's books stay exact (its
    ///         balance falls by what it sent: balance == liabilities); the event states what the escrow sent, the
    ///         token's own `Transfer` log what the seller received (what the indexer records).
    function test_tether_feeSwitchAfterFunding_eventSaysSentTransferSaysReceived() public {
        _proved(ID);
        TetherLike(token).setParams(19, 49); // the mainnet caps: < 20 bps, < 50 whole tokens
        uint256 net = AMOUNT - _fee(AMOUNT);
        uint256 tokenFee = (net * 19) / 10_000;
        vm.recordLogs();
        _accept(ID);
        (uint256 sent, uint256 received) = _payoutLogs(seller);
        assertEq(sent, net, "OrderCompleted.sellerAmount");
        assertEq(received, net - tokenFee, "Transfer(escrow -> seller).value");
        assertEq(_bal(seller), net - tokenFee);
        assertEq(escrow.liabilities(), _fee(AMOUNT));
        assertEq(_bal(address(escrow)), escrow.liabilities());
        // New funding refuses the fee (the escrow would receive less than the order's amount).
        vm.prank(buyer);
        vm.expectRevert();
        escrow.fund(_oid(buyer, "after-switch"), seller, AMOUNT, DELIVER_BY, TERMS);
    }

    /// @notice The token's owner burning a blocklisted buyer's funds touches nothing escrowed; the buyer's refund
    ///         still arrives (Tether blocks sending, not receiving).
    function test_tether_destroyBlackFundsOfBuyer_escrowUntouched() public {
        _fund(ID);
        TetherLike(token).addBlackList(buyer);
        TetherLike(token).destroyBlackFunds(buyer);
        assertEq(_bal(buyer), 0);
        assertEq(_bal(address(escrow)), AMOUNT);
        vm.prank(buyer);
        escrow.cancel(ID);
        assertEq(_bal(buyer), AMOUNT);
        assertEq(escrow.liabilities(), 0);
    }

    /// @notice Defect 2 of the review, Tether's way: after `deprecate`, the upgraded contract is a second address of
    ///         the escrowed token. Before the fix `rescue(upgraded, owner, balance)` emptied the escrow with every
    ///         order still open; now only the surplus leaves, whichever address names it.
    function test_tether_deprecated_rescueThroughUpgradedAddress_onlySurplus() public {
        _fund(ID);
        TetherUpgrade upgraded = _deprecate();
        assertEq(_bal(address(escrow)), AMOUNT, "legacy balanceOf reads the upgraded books");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowRescueBreaksCover.selector, 0, AMOUNT));
        escrow.rescue(address(upgraded), owner, AMOUNT);
        _mint(address(escrow), 7e6); // a donation: surplus
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowRescueBreaksCover.selector, AMOUNT - 1, AMOUNT)
        );
        escrow.rescue(address(upgraded), owner, 7e6 + 1);
        vm.prank(owner);
        escrow.rescue(address(upgraded), owner, 7e6);
        assertEq(_bal(address(escrow)), AMOUNT);
        assertEq(_bal(owner), 7e6);
    }

    /// @notice An order funded before `deprecate` completes after it: the payout goes through the forwarding.
    function test_tether_deprecatedMidOrder_lifecycleCompletes() public {
        _proved(ID);
        _deprecate();
        _accept(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        escrow.withdrawFees();
        assertEq(_bal(treasury), _fee(AMOUNT));
        assertEq(_bal(address(escrow)), 0);
    }

    function _deprecate() internal returns (TetherUpgrade upgraded) {
        upgraded = new TetherUpgrade(TetherLike(token));
        TetherLike(token).deprecate(upgraded);
    }

    /// @dev From the recorded logs: the escrow's `OrderCompleted.sellerAmount` and the token `Transfer` to `to`.
    function _payoutLogs(address to) internal returns (uint256 sent, uint256 received) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(escrow) && logs[i].topics[0] == IPactEscrow.OrderCompleted.selector
            ) {
                (, sent,) = abi.decode(logs[i].data, (address, uint256, uint256));
            }
            if (
                logs[i].topics[0] == keccak256("Transfer(address,address,uint256)")
                    && logs[i].topics[1] == bytes32(uint256(uint160(address(escrow))))
                    && logs[i].topics[2] == bytes32(uint256(uint160(to)))
            ) received = abi.decode(logs[i].data, (uint256));
        }
    }
}

/// @notice The whole matrix again with the Tether-faithful token deprecated before anything happens: every call
///         goes through the legacy address's forwarding to the upgraded contract.
contract PactEscrowTokenTetherDeprecatedTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new TetherLike());
    }

    function setUp() public override {
        super.setUp();
        _approve(buyer, 0); // the allowance moves to the upgraded books on first use
        TetherLike(token).deprecate(new TetherUpgrade(TetherLike(token)));
        _approve(buyer, type(uint256).max);
    }

    function test_tetherDeprecated_forwardingIsLive() public view {
        assertTrue(TetherLike(token).deprecated());
        assertEq(_bal(buyer), 1_000_000_000e6);
    }
}

/// @notice A token with two entry points to one set of balances (a proxy whose implementation also accepts calls).
contract PactEscrowTokenDoubleEntryTest is TokenMatrixBase {
    function _deployToken() internal override returns (address) {
        return address(new DoubleEntryToken());
    }

    /// @notice Defect 2 of the review: `rescue(secondEntry, ...)` moved escrowed funds (balance 0, liabilities
    ///         unchanged) because only the escrowed token's own address was checked.
    function test_doubleEntry_rescueThroughSecondEntry_cannotTakeEscrow() public {
        _fund(ID);
        address second = address(DoubleEntryToken(token).secondEntry());
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowRescueBreaksCover.selector, 0, AMOUNT));
        escrow.rescue(second, owner, AMOUNT);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowRescueBreaksCover.selector, AMOUNT - 1, AMOUNT)
        );
        escrow.rescue(second, owner, 1);
        _mint(address(escrow), 3);
        vm.prank(owner);
        escrow.rescue(second, owner, 3);
        assertEq(_bal(address(escrow)), AMOUNT);
        assertEq(escrow.liabilities(), AMOUNT);
    }
}
