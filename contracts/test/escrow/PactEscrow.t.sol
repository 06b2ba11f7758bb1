// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";

/// @notice Unit tests of every transition and every revert of the order lifecycle (TestUSDT as the token).
contract PactEscrowTest is EscrowFixture {
    // ----------------------------------------------------------------------------------------------------
    // constructor
    // ----------------------------------------------------------------------------------------------------

    /// @dev `advance(ID)` reverts with EscrowNothingDue naming the stored `state` and its due time `dueAt`.
    function _advanceRevertsNothingDue(IPactEscrow.State state, uint256 dueAt) internal {
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNothingDue.selector, ID, state, dueAt));
        escrow.advance(ID);
    }

    function test_constructor_setsImmutablesAndConfig() public view {
        assertEq(escrow.token(), token);
        assertEq(escrow.tokenDecimals(), 6);
        assertEq(escrow.maxFeeBps(), MAX_FEE_BPS);
        assertEq(escrow.owner(), owner);
        assertEq(escrow.arbiter(), arbiter);
        assertEq(escrow.treasury(), treasury);
        assertEq(escrow.currentConfigId(), 0);
        IPactEscrow.Config memory c = escrow.config(0);
        assertEq(c.feeBps, FEE_BPS);
        assertEq(c.reviewWindow, REVIEW);
        assertEq(c.arbiterWindow, ARBITER_WINDOW);
        assertEq(c.defaultSellerBps, DEFAULT_SELLER_BPS);
        assertFalse(escrow.paused());
    }

    /// @dev `OrderFunded` carries only the config id: the indexer needs a `ConfigUpdated` for snapshot 0 too.
    function test_constructor_emitsConfigUpdatedForSnapshot0() public {
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(next);
        emit IPactEscrow.ConfigUpdated(0, 123, 2 days, 5 days, 2500);
        PactEscrow e = new PactEscrow(
            token, owner, arbiter, treasury, 1000, IPactEscrow.Config(123, 2 days, 5 days, 2500)
        );
        assertEq(address(e), next);
    }

    function test_constructor_runtimeFitsEip170() public view {
        assertLe(address(escrow).code.length, 24_576, "runtime above the EIP-170 limit");
    }

    function test_constructor_readsDecimals18() public {
        TestUSDT t = new TestUSDT("E", "E", 18);
        PactEscrow e = new PactEscrow(address(t), owner, arbiter, treasury, 100, _cfg());
        assertEq(e.tokenDecimals(), 18);
    }

    function test_constructor_tokenWithoutCode_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidToken.selector, stranger));
        new PactEscrow(stranger, owner, arbiter, treasury, 100, _cfg());
    }

    function test_constructor_tokenWithoutDecimals_reverts() public {
        address noDecimals = address(escrow); // has code, no decimals()
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidToken.selector, noDecimals));
        new PactEscrow(noDecimals, owner, arbiter, treasury, 100, _cfg());
    }

    function test_constructor_maxFeeAbove10000_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidBps.selector, 10_001));
        new PactEscrow(token, owner, arbiter, treasury, 10_001, _cfg());
    }

    function test_constructor_zeroArbiterOrTreasury_reverts() public {
        vm.expectRevert(IPactEscrow.EscrowZeroAddress.selector);
        new PactEscrow(token, owner, address(0), treasury, 100, _cfg());
        vm.expectRevert(IPactEscrow.EscrowZeroAddress.selector);
        new PactEscrow(token, owner, arbiter, address(0), 100, _cfg());
    }

    function test_constructor_feeAboveMax_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowFeeTooHigh.selector, 101, 100));
        new PactEscrow(
            token, owner, arbiter, treasury, 100, IPactEscrow.Config(101, REVIEW, ARBITER_WINDOW, 0)
        );
    }

    function _cfg() internal pure returns (IPactEscrow.Config memory) {
        return IPactEscrow.Config(FEE_BPS, REVIEW, ARBITER_WINDOW, DEFAULT_SELLER_BPS);
    }

    // ----------------------------------------------------------------------------------------------------
    // fund
    // ----------------------------------------------------------------------------------------------------

    function test_fund_storesOrderAndPulls() public {
        uint256 buyerBefore = _bal(buyer);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderFunded(ID, buyer, seller, AMOUNT, DELIVER_BY, TERMS, 0);
        _fund(ID);
        IPactEscrow.Order memory o = escrow.getOrder(ID);
        assertEq(o.buyer, buyer);
        assertEq(o.amount, AMOUNT);
        assertEq(o.seller, seller);
        assertEq(o.deliverBy, DELIVER_BY);
        assertEq(o.stateSince, T0);
        assertEq(uint8(o.state), uint8(IPactEscrow.State.ESCROWED));
        assertEq(o.rejections, 0);
        assertEq(o.configId, 0);
        assertEq(_bal(address(escrow)), AMOUNT);
        assertEq(_bal(buyer), buyerBefore - AMOUNT);
        assertEq(escrow.liabilities(), AMOUNT);
    }

    function test_fund_usedId_reverts() public {
        _fund(ID);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderExists.selector, ID));
        _fund(ID);
    }

    function test_fund_terminalId_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        escrow.cancel(ID);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderExists.selector, ID));
        _fund(ID);
    }

    function test_fund_paused_reverts() public {
        vm.prank(owner);
        escrow.setPaused(true);
        vm.expectRevert(IPactEscrow.EscrowPaused.selector);
        _fund(ID);
        vm.prank(owner);
        escrow.setPaused(false);
        _fund(ID);
    }

    function test_fund_invalidSeller_reverts() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSeller.selector, address(0)));
        escrow.fund(ID, address(0), AMOUNT, DELIVER_BY, TERMS);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSeller.selector, buyer));
        escrow.fund(ID, buyer, AMOUNT, DELIVER_BY, TERMS);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSeller.selector, address(escrow)));
        escrow.fund(ID, address(escrow), AMOUNT, DELIVER_BY, TERMS);
        vm.stopPrank();
    }

    /// @dev Open escrow (bits 0..107 of `_hot`, slot 5) + accrued fees (bits 108..215) must stay below 2^108,
    ///      so neither packed field can overflow into the next. Exactly at the cap funds; one more reverts.
    function test_fund_openEscrowCap_boundary() public {
        _proved(_oid(buyer, "fees"));
        _accept(_oid(buyer, "fees")); // accrued fees = _fee(AMOUNT), open escrow = 0
        bytes32 slot = bytes32(uint256(5));
        uint256 v = uint256(vm.load(address(escrow), slot));
        uint256 mask = (uint256(1) << 108) - 1;
        assertEq((v >> 108) & mask, _fee(AMOUNT), "layout assumption");
        assertEq(v & mask, 0, "layout assumption");
        // Pretend open escrow is so large that exactly AMOUNT - 1 more fits.
        uint256 open = mask - _fee(AMOUNT) - (AMOUNT - 1);
        vm.store(address(escrow), slot, bytes32(v | open));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidAmount.selector, AMOUNT));
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
        _fund(ID, AMOUNT - 1);
        assertEq(escrow.liabilities(), mask, "open + fees at the cap");
    }

    function test_fund_invalidAmount_reverts() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidAmount.selector, 0));
        escrow.fund(ID, seller, 0, DELIVER_BY, TERMS);
        uint256 tooBig = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidAmount.selector, tooBig));
        escrow.fund(ID, seller, tooBig, DELIVER_BY, TERMS);
        vm.stopPrank();
    }

    function test_fund_deliverByNowOrPast_reverts() public {
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidDeliverBy.selector, T0, T0));
        escrow.fund(ID, seller, AMOUNT, uint64(T0), TERMS);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidDeliverBy.selector, T0 - 1, T0));
        escrow.fund(ID, seller, AMOUNT, uint64(T0 - 1), TERMS);
        escrow.fund(ID, seller, AMOUNT, uint64(T0 + 1), TERMS);
        vm.stopPrank();
    }

    function test_fund_deliverByBeyond32Bits_reverts() public {
        uint64 far = uint64(type(uint32).max) + 1;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidDeliverBy.selector, far, T0));
        escrow.fund(ID, seller, AMOUNT, far, TERMS);
        vm.prank(buyer);
        escrow.fund(ID, seller, AMOUNT, type(uint32).max, TERMS);
        (IPactEscrow.Action action, uint64 at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.REFUND_EXPIRED));
        assertEq(at, uint64(type(uint32).max) + 1);
    }

    function test_fund_withoutAllowance_reverts() public {
        _approve(buyer, 0);
        vm.prank(buyer);
        vm.expectRevert();
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
    }

    function test_fund_feeOnTransferEnabled_reverts() public {
        TestUSDT(token).setParams(10, 1); // 0.1%, at most 1 token
        uint256 fee = AMOUNT / 1000;
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowAmountMismatch.selector, AMOUNT, AMOUNT - fee)
        );
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
    }

    function test_fund_tokenPaused_reverts() public {
        TestUSDT(token).pause();
        vm.prank(buyer);
        vm.expectRevert();
        escrow.fund(ID, seller, AMOUNT, DELIVER_BY, TERMS);
    }

    function test_fund_afterConfigChange_usesNewSnapshot() public {
        _fund(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ConfigUpdated(1, 200, 1 days, 2 days, 7000);
        vm.prank(owner);
        escrow.setConfig(200, 1 days, 2 days, 7000);
        bytes32 id2 = _oid(buyer, "order-2");
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderFunded(id2, buyer, seller, AMOUNT, DELIVER_BY, TERMS, 1);
        _fund(id2);
        IPactEscrow.Config memory c = escrow.config(1);
        assertEq(c.feeBps, 200);
        assertEq(c.reviewWindow, 1 days);
        assertEq(c.arbiterWindow, 2 days);
        assertEq(c.defaultSellerBps, 7000);
        assertEq(escrow.getOrder(ID).configId, 0);
        assertEq(escrow.getOrder(id2).configId, 1);
    }

    // ----------------------------------------------------------------------------------------------------
    // startDelivery
    // ----------------------------------------------------------------------------------------------------

    function test_startDelivery_movesToDelivering() public {
        _fund(ID);
        vm.warp(T0 + 10);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.DeliveryStarted(ID, seller);
        _deliver(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DELIVERING));
        assertEq(escrow.getOrder(ID).stateSince, T0 + 10);
    }

    function test_startDelivery_notSeller_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotSeller.selector, ID, buyer));
        escrow.startDelivery(ID);
    }

    function test_startDelivery_unknownOrder_reverts() public {
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderNotFound.selector, ID));
        escrow.startDelivery(ID);
    }

    function test_startDelivery_wrongState_reverts() public {
        _fund(ID);
        _deliver(ID);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.DELIVERING)
        );
        escrow.startDelivery(ID);
    }

    function test_startDelivery_deadlineMinusOne_succeeds() public {
        _fund(ID);
        vm.warp(DELIVER_BY - 1);
        _deliver(ID);
    }

    function test_startDelivery_deadlineExactly_succeeds() public {
        _fund(ID);
        vm.warp(DELIVER_BY);
        _deliver(ID);
    }

    function test_startDelivery_deadlinePlusOne_reverts() public {
        _fund(ID);
        vm.warp(DELIVER_BY + 1);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowDeliveryDeadlinePassed.selector, ID, DELIVER_BY, DELIVER_BY + 1
            )
        );
        escrow.startDelivery(ID);
    }

    // ----------------------------------------------------------------------------------------------------
    // submitProof
    // ----------------------------------------------------------------------------------------------------

    /// @dev The proof entry point under test: `submitProof` with `URI`, or the hash-only `submitProofHash`.
    function _submit(bool hashOnly, bytes32 id) internal {
        if (hashOnly) escrow.submitProofHash(id, PROOF);
        else escrow.submitProof(id, PROOF, URI);
    }

    function _submitFromEscrowed(bool hashOnly) internal {
        _fund(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ProofSubmitted(ID, PROOF, hashOnly ? "" : URI);
        vm.prank(seller);
        _submit(hashOnly, ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.PROOF_SUBMITTED));
        assertEq(escrow.getOrder(ID).stateSince, T0);
    }

    function _submitFromDelivering(bool hashOnly) internal {
        _fund(ID);
        _deliver(ID);
        vm.warp(T0 + 100);
        vm.prank(seller);
        _submit(hashOnly, ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.PROOF_SUBMITTED));
        assertEq(escrow.getOrder(ID).stateSince, T0 + 100);
    }

    function _submitNotSellerReverts(bool hashOnly) internal {
        _fund(ID);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotSeller.selector, ID, stranger));
        _submit(hashOnly, ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotSeller.selector, ID, buyer));
        _submit(hashOnly, ID);
    }

    function _submitUnknownOrderReverts(bool hashOnly) internal {
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderNotFound.selector, ID));
        _submit(hashOnly, ID);
    }

    function _submitWrongStateReverts(bool hashOnly) internal {
        _proved(ID);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.PROOF_SUBMITTED
            )
        );
        _submit(hashOnly, ID);
        _accept(ID);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        _submit(hashOnly, ID);
    }

    function _submitAtDeadline(bool hashOnly, uint256 at) internal {
        _fund(ID);
        vm.warp(at);
        vm.prank(seller);
        if (at > DELIVER_BY) {
            vm.expectRevert(
                abi.encodeWithSelector(IPactEscrow.EscrowDeliveryDeadlinePassed.selector, ID, DELIVER_BY, at)
            );
        }
        _submit(hashOnly, ID);
        assertEq(
            uint8(_state(ID)),
            uint8(at > DELIVER_BY ? IPactEscrow.State.ESCROWED : IPactEscrow.State.PROOF_SUBMITTED)
        );
    }

    function test_submitProof_fromEscrowed() public {
        _submitFromEscrowed(false);
    }

    function test_submitProofHash_fromEscrowed() public {
        _submitFromEscrowed(true);
    }

    function test_submitProof_fromDelivering() public {
        _submitFromDelivering(false);
    }

    function test_submitProofHash_fromDelivering() public {
        _submitFromDelivering(true);
    }

    function test_submitProof_notSeller_reverts() public {
        _submitNotSellerReverts(false);
    }

    function test_submitProofHash_notSeller_reverts() public {
        _submitNotSellerReverts(true);
    }

    function test_submitProof_unknownOrder_reverts() public {
        _submitUnknownOrderReverts(false);
    }

    function test_submitProofHash_unknownOrder_reverts() public {
        _submitUnknownOrderReverts(true);
    }

    function test_submitProof_wrongState_reverts() public {
        _submitWrongStateReverts(false);
    }

    function test_submitProofHash_wrongState_reverts() public {
        _submitWrongStateReverts(true);
    }

    function test_submitProof_deadlineMinusOne_succeeds() public {
        _submitAtDeadline(false, DELIVER_BY - 1);
    }

    function test_submitProofHash_deadlineMinusOne_succeeds() public {
        _submitAtDeadline(true, DELIVER_BY - 1);
    }

    function test_submitProof_deadlineExactly_succeeds() public {
        _submitAtDeadline(false, DELIVER_BY);
    }

    function test_submitProofHash_deadlineExactly_succeeds() public {
        _submitAtDeadline(true, DELIVER_BY);
    }

    function test_submitProof_deadlinePlusOne_reverts() public {
        _submitAtDeadline(false, DELIVER_BY + 1);
    }

    function test_submitProofHash_deadlinePlusOne_reverts() public {
        _submitAtDeadline(true, DELIVER_BY + 1);
    }

    /// @dev Calldata shorter than the two words is refused by the ABI decoder (no state change).
    function test_submitProofHash_shortCalldata_reverts() public {
        _fund(ID);
        vm.prank(seller);
        (bool ok,) = address(escrow).call(abi.encodePacked(escrow.submitProofHash.selector, ID));
        assertFalse(ok);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.ESCROWED));
    }

    // ----------------------------------------------------------------------------------------------------
    // startReview and the automatic review start
    // ----------------------------------------------------------------------------------------------------

    function test_startReview_movesToReviewing() public {
        _proved(ID);
        vm.warp(T0 + 60);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ReviewStarted(ID, buyer, uint64(T0 + 60));
        _review(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REVIEWING));
        assertEq(escrow.getOrder(ID).stateSince, T0 + 60);
    }

    function test_startReview_notBuyer_reverts() public {
        _proved(ID);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotBuyer.selector, ID, seller));
        escrow.startReview(ID);
    }

    function test_startReview_wrongState_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.ESCROWED)
        );
        escrow.startReview(ID);
    }

    function test_startReview_windowMinusOne_succeeds() public {
        _proved(ID);
        vm.warp(T0 + REVIEW - 1);
        _review(ID);
    }

    function test_startReview_windowExactly_reverts() public {
        _proved(ID);
        vm.warp(T0 + REVIEW);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.REVIEWING)
        );
        escrow.startReview(ID);
    }

    function test_getOrder_proofWindowElapsed_isReviewing() public {
        _proved(ID);
        vm.warp(T0 + REVIEW - 1);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.PROOF_SUBMITTED));
        vm.warp(T0 + REVIEW);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REVIEWING));
        assertEq(escrow.getOrder(ID).stateSince, T0 + REVIEW);
        vm.warp(T0 + 2 * REVIEW - 1);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REVIEWING));
        vm.warp(T0 + 2 * REVIEW);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.COMPLETED));
    }

    // ----------------------------------------------------------------------------------------------------
    // accept
    // ----------------------------------------------------------------------------------------------------

    function test_accept_fromProofSubmitted_paysSellerMinusFee() public {
        _proved(ID);
        uint256 fee = _fee(AMOUNT);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderCompleted(ID, buyer, AMOUNT - fee, fee);
        _accept(ID);
        assertEq(_bal(seller), AMOUNT - fee);
        assertEq(escrow.accruedFees(), fee);
        assertEq(_bal(address(escrow)), fee);
        assertEq(escrow.liabilities(), fee);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.COMPLETED));
    }

    function test_accept_fromReviewing() public {
        _reviewing(ID);
        _accept(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
    }

    function test_accept_afterWindowsElapsed_paysOnce() public {
        _proved(ID);
        vm.warp(T0 + 3 * REVIEW);
        _accept(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        _advanceRevertsNothingDue(IPactEscrow.State.COMPLETED, 0);
    }

    function test_accept_notBuyer_reverts() public {
        _proved(ID);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotBuyer.selector, ID, seller));
        escrow.accept(ID);
    }

    function test_accept_unknownOrder_reverts() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderNotFound.selector, ID));
        escrow.accept(ID);
    }

    function test_accept_wrongState_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.ESCROWED)
        );
        escrow.accept(ID);
        _deliver(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.DELIVERING)
        );
        escrow.accept(ID);
    }

    function test_accept_twice_reverts() public {
        _proved(ID);
        _accept(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        escrow.accept(ID);
    }

    // ----------------------------------------------------------------------------------------------------
    // reject
    // ----------------------------------------------------------------------------------------------------

    function test_reject_backToDeliveringAndExtendsDeadline() public {
        _proved(ID);
        vm.warp(DELIVER_BY - 1 hours);
        uint64 newDeliverBy = uint64(block.timestamp + REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ProofRejected(ID, buyer, keccak256("bad"), 1, newDeliverBy);
        _reject(ID);
        IPactEscrow.Order memory o = escrow.getOrder(ID);
        assertEq(uint8(o.state), uint8(IPactEscrow.State.DELIVERING));
        assertEq(o.rejections, 1);
        assertEq(o.deliverBy, newDeliverBy);
        _prove(ID); // the seller can deliver again
    }

    function test_reject_keepsLaterDeadline() public {
        _proved(ID);
        _reject(ID);
        assertEq(escrow.getOrder(ID).deliverBy, DELIVER_BY);
    }

    function test_reject_third_opensDispute() public {
        _proved(ID);
        _reject(ID);
        _prove(ID);
        _reject(ID);
        _prove(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ProofRejected(ID, buyer, keccak256("bad"), 3, DELIVER_BY);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.DisputeOpened(ID, buyer, bytes32(0));
        _reject(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DISPUTED));
        assertEq(escrow.getOrder(ID).rejections, 3);
    }

    function test_reject_fromReviewing() public {
        _reviewing(ID);
        _reject(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DELIVERING));
    }

    function test_reject_afterAutoReview_materializesReview() public {
        _proved(ID);
        vm.warp(T0 + REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ReviewStarted(ID, buyer, uint64(T0 + REVIEW));
        _reject(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DELIVERING));
    }

    function test_reject_notBuyer_reverts() public {
        _proved(ID);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotBuyer.selector, ID, seller));
        escrow.reject(ID, bytes32(0));
    }

    function test_reject_wrongState_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.ESCROWED)
        );
        escrow.reject(ID, bytes32(0));
    }

    function test_reject_reviewEndMinusOne_succeeds() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW - 1);
        _reject(ID);
    }

    function test_reject_reviewEndExactly_reverts() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        escrow.reject(ID, bytes32(0));
    }

    function test_reject_reviewEndPlusOne_reverts() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW + 1);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        escrow.reject(ID, bytes32(0));
    }

    // ----------------------------------------------------------------------------------------------------
    // dispute
    // ----------------------------------------------------------------------------------------------------

    function test_dispute_fromDeliveringBySeller() public {
        _fund(ID);
        _deliver(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.DisputeOpened(ID, seller, keccak256("evidence"));
        _dispute(ID, seller);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DISPUTED));
    }

    function test_dispute_fromProofSubmittedByBuyer() public {
        _proved(ID);
        _dispute(ID, buyer);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DISPUTED));
    }

    function test_dispute_fromReviewing() public {
        _reviewing(ID);
        _dispute(ID, seller);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DISPUTED));
    }

    function test_dispute_stopsClocks() public {
        _disputed(ID);
        vm.warp(T0 + 10 * REVIEW);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.DISPUTED));
    }

    function test_dispute_notParty_reverts() public {
        _proved(ID);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotParty.selector, ID, stranger));
        escrow.dispute(ID, bytes32(0));
    }

    function test_dispute_unknownOrder_reverts() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderNotFound.selector, ID));
        escrow.dispute(ID, bytes32(0));
    }

    function test_dispute_fromEscrowed_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.ESCROWED)
        );
        escrow.dispute(ID, bytes32(0));
    }

    function test_dispute_twice_reverts() public {
        _disputed(ID);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.DISPUTED)
        );
        escrow.dispute(ID, bytes32(0));
    }

    function test_dispute_deliveringDeadlineExactly_succeeds() public {
        _fund(ID);
        _deliver(ID);
        vm.warp(DELIVER_BY);
        _dispute(ID, buyer);
    }

    function test_dispute_deliveringDeadlineMinusOne_succeeds() public {
        _fund(ID);
        _deliver(ID);
        vm.warp(DELIVER_BY - 1);
        _dispute(ID, buyer);
    }

    function test_dispute_deliveringDeadlinePlusOne_reverts() public {
        _fund(ID);
        _deliver(ID);
        vm.warp(DELIVER_BY + 1);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowDeliveryDeadlinePassed.selector, ID, DELIVER_BY, DELIVER_BY + 1
            )
        );
        escrow.dispute(ID, bytes32(0));
    }

    function test_dispute_afterReviewCompleted_reverts() public {
        _proved(ID);
        vm.warp(T0 + 2 * REVIEW);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        escrow.dispute(ID, bytes32(0));
    }

    // ----------------------------------------------------------------------------------------------------
    // resolve
    // ----------------------------------------------------------------------------------------------------

    function test_resolve_splitsWithFeeOnSellerShare() public {
        _disputed(ID);
        uint256 gross = (AMOUNT * 7000) / 10_000;
        uint256 fee = _fee(gross);
        uint256 buyerBefore = _bal(buyer);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderResolved(
            ID, arbiter, IPactEscrow.Resolution.ARBITER, 7000, AMOUNT - gross, gross - fee, fee
        );
        vm.prank(arbiter);
        escrow.resolve(ID, 7000);
        assertEq(_bal(buyer) - buyerBefore, AMOUNT - gross);
        assertEq(_bal(seller), gross - fee);
        assertEq(escrow.accruedFees(), fee);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
    }

    function test_resolve_allToBuyer_noFee() public {
        _disputed(ID);
        vm.prank(arbiter);
        escrow.resolve(ID, 0);
        assertEq(escrow.accruedFees(), 0);
        assertEq(_bal(address(escrow)), 0);
    }

    function test_resolve_notArbiter_reverts() public {
        _disputed(ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotArbiter.selector, buyer));
        escrow.resolve(ID, 5000);
    }

    function test_resolve_invalidBps_reverts() public {
        _disputed(ID);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidBps.selector, 10_001));
        escrow.resolve(ID, 10_001);
    }

    function test_resolve_notDisputed_reverts() public {
        _proved(ID);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.PROOF_SUBMITTED
            )
        );
        escrow.resolve(ID, 5000);
    }

    function test_resolve_windowMinusOne_succeeds() public {
        _disputed(ID);
        vm.warp(T0 + ARBITER_WINDOW - 1);
        vm.prank(arbiter);
        escrow.resolve(ID, 5000);
    }

    function test_resolve_windowExactly_reverts() public {
        _disputed(ID);
        vm.warp(T0 + ARBITER_WINDOW);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowArbiterWindowClosed.selector, ID, T0 + ARBITER_WINDOW, T0 + ARBITER_WINDOW
            )
        );
        escrow.resolve(ID, 5000);
    }

    function test_resolve_windowPlusOne_reverts() public {
        _disputed(ID);
        vm.warp(T0 + ARBITER_WINDOW + 1);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowArbiterWindowClosed.selector,
                ID,
                T0 + ARBITER_WINDOW,
                T0 + ARBITER_WINDOW + 1
            )
        );
        escrow.resolve(ID, 5000);
    }

    // ----------------------------------------------------------------------------------------------------
    // settlements
    // ----------------------------------------------------------------------------------------------------

    function test_acceptSettlement_resolvesWithProposedSplit() public {
        _disputed(ID);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.SettlementProposed(ID, seller, 8000);
        vm.prank(seller);
        escrow.proposeSettlement(ID, 8000);
        assertEq(escrow.settlementOf(ID).proposer, seller);
        uint256 gross = (AMOUNT * 8000) / 10_000;
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderResolved(
            ID,
            buyer,
            IPactEscrow.Resolution.SETTLEMENT,
            8000,
            AMOUNT - gross,
            gross - _fee(gross),
            _fee(gross)
        );
        vm.prank(buyer);
        escrow.acceptSettlement(ID, 8000);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
        assertEq(escrow.settlementOf(ID).proposer, address(0));
    }

    function test_acceptSettlement_afterArbiterWindow_succeeds() public {
        _disputed(ID);
        vm.prank(buyer);
        escrow.proposeSettlement(ID, 1000);
        vm.warp(T0 + ARBITER_WINDOW + 1);
        vm.prank(seller);
        escrow.acceptSettlement(ID, 1000);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
    }

    function test_settlementOf_afterArbiterRuling_isEmpty() public {
        _disputed(ID);
        vm.prank(buyer);
        escrow.proposeSettlement(ID, 4000);
        assertEq(escrow.settlementOf(ID).sellerBps, 4000);
        vm.prank(arbiter);
        escrow.resolve(ID, 5000);
        assertEq(escrow.settlementOf(ID).proposer, address(0));
        assertEq(escrow.settlementOf(ID).sellerBps, 0);
    }

    function test_acceptSettlement_ownProposal_reverts() public {
        _disputed(ID);
        vm.startPrank(seller);
        escrow.proposeSettlement(ID, 8000);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOwnSettlement.selector, ID, seller));
        escrow.acceptSettlement(ID, 8000);
        vm.stopPrank();
    }

    function test_acceptSettlement_mismatch_reverts() public {
        _disputed(ID);
        vm.prank(seller);
        escrow.proposeSettlement(ID, 8000);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowSettlementMismatch.selector, ID, 8000, 7999));
        escrow.acceptSettlement(ID, 7999);
    }

    function test_acceptSettlement_replacedProposal_needsNewSplit() public {
        _disputed(ID);
        vm.prank(seller);
        escrow.proposeSettlement(ID, 8000);
        vm.prank(buyer);
        escrow.proposeSettlement(ID, 2000);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOwnSettlement.selector, ID, buyer));
        escrow.acceptSettlement(ID, 2000);
        vm.prank(seller);
        escrow.acceptSettlement(ID, 2000);
    }

    function test_acceptSettlement_noProposal_reverts() public {
        _disputed(ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNoSettlement.selector, ID));
        escrow.acceptSettlement(ID, 5000);
    }

    function test_proposeSettlement_notParty_reverts() public {
        _disputed(ID);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotParty.selector, ID, stranger));
        escrow.proposeSettlement(ID, 5000);
    }

    function test_proposeSettlement_notDisputed_reverts() public {
        _proved(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.PROOF_SUBMITTED
            )
        );
        escrow.proposeSettlement(ID, 5000);
    }

    function test_proposeSettlement_invalidBps_reverts() public {
        _disputed(ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidBps.selector, 10_001));
        escrow.proposeSettlement(ID, 10_001);
    }

    function test_acceptSettlement_notParty_reverts() public {
        _disputed(ID);
        vm.prank(buyer);
        escrow.proposeSettlement(ID, 5000);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotParty.selector, ID, stranger));
        escrow.acceptSettlement(ID, 5000);
    }

    // ----------------------------------------------------------------------------------------------------
    // cancel / refund
    // ----------------------------------------------------------------------------------------------------

    function test_cancel_refundsBuyerInFull() public {
        _fund(ID);
        uint256 before = _bal(buyer);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderRefunded(ID, buyer, AMOUNT, IPactEscrow.RefundReason.BUYER_CANCELLED);
        vm.prank(buyer);
        escrow.cancel(ID);
        assertEq(_bal(buyer) - before, AMOUNT);
        assertEq(escrow.accruedFees(), 0);
        assertEq(escrow.liabilities(), 0);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REFUNDED));
    }

    function test_cancel_notBuyer_reverts() public {
        _fund(ID);
        vm.prank(seller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotBuyer.selector, ID, seller));
        escrow.cancel(ID);
    }

    function test_cancel_afterDeliveryStarted_reverts() public {
        _fund(ID);
        _deliver(ID);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.DELIVERING)
        );
        escrow.cancel(ID);
    }

    function test_refund_bySellerFromEachOpenState() public {
        bytes32[5] memory ids =
            [_oid(buyer, "r1"), _oid(buyer, "r2"), _oid(buyer, "r3"), _oid(buyer, "r4"), _oid(buyer, "r5")];
        _fund(ids[0]);
        _fund(ids[1]);
        _deliver(ids[1]);
        _proved(ids[2]);
        _reviewing(ids[3]);
        _disputed(ids[4]);
        for (uint256 i; i < ids.length; ++i) {
            uint256 before = _bal(buyer);
            vm.expectEmit(address(escrow));
            emit IPactEscrow.OrderRefunded(ids[i], seller, AMOUNT, IPactEscrow.RefundReason.SELLER_REFUNDED);
            vm.prank(seller);
            escrow.refund(ids[i]);
            assertEq(_bal(buyer) - before, AMOUNT);
            assertEq(uint8(_state(ids[i])), uint8(IPactEscrow.State.REFUNDED));
        }
        assertEq(_bal(address(escrow)), 0);
    }

    function test_refund_notSeller_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowNotSeller.selector, ID, buyer));
        escrow.refund(ID);
    }

    function test_refund_afterReviewCompleted_reverts() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW);
        vm.prank(seller);
        vm.expectRevert(
            abi.encodeWithSelector(IPactEscrow.EscrowInvalidState.selector, ID, IPactEscrow.State.COMPLETED)
        );
        escrow.refund(ID);
    }

    // ----------------------------------------------------------------------------------------------------
    // advance / advanceMany / nextDeadline
    // ----------------------------------------------------------------------------------------------------

    function test_advance_expiredDelivery_deadlineExactly_reverts() public {
        _fund(ID);
        vm.warp(DELIVER_BY);
        _advanceRevertsNothingDue(IPactEscrow.State.ESCROWED, DELIVER_BY + 1);
    }

    function test_advance_expiredDelivery_deadlineMinusOne_reverts() public {
        _fund(ID);
        _deliver(ID);
        vm.warp(DELIVER_BY - 1);
        _advanceRevertsNothingDue(IPactEscrow.State.DELIVERING, DELIVER_BY + 1);
    }

    function test_advance_expiredDelivery_deadlinePlusOne_refunds() public {
        _fund(ID);
        _deliver(ID);
        vm.warp(DELIVER_BY + 1);
        uint256 before = _bal(buyer);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderRefunded(ID, stranger, AMOUNT, IPactEscrow.RefundReason.DELIVERY_EXPIRED);
        vm.prank(stranger);
        escrow.advance(ID);
        assertEq(_bal(buyer) - before, AMOUNT);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.REFUNDED));
    }

    function test_advance_startReview_windowMinusOne_reverts() public {
        _proved(ID);
        vm.warp(T0 + REVIEW - 1);
        _advanceRevertsNothingDue(IPactEscrow.State.PROOF_SUBMITTED, T0 + REVIEW);
    }

    function test_advance_startReview_windowExactly_movesToReviewing() public {
        _proved(ID);
        vm.warp(T0 + REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ReviewStarted(ID, stranger, uint64(T0 + REVIEW));
        vm.prank(stranger);
        escrow.advance(ID);
        IPactEscrow.Order memory o = escrow.getOrder(ID);
        assertEq(uint8(o.state), uint8(IPactEscrow.State.REVIEWING));
        assertEq(o.stateSince, T0 + REVIEW);
    }

    function test_advance_startReview_windowPlusOne_keepsClock() public {
        _proved(ID);
        vm.warp(T0 + REVIEW + 1);
        escrow.advance(ID);
        assertEq(escrow.getOrder(ID).stateSince, T0 + REVIEW);
    }

    function test_advance_complete_windowMinusOne_reverts() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW - 1);
        _advanceRevertsNothingDue(IPactEscrow.State.REVIEWING, T0 + REVIEW);
    }

    function test_advance_complete_windowExactly_paysSeller() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderCompleted(ID, stranger, AMOUNT - _fee(AMOUNT), _fee(AMOUNT));
        vm.prank(stranger);
        escrow.advance(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.COMPLETED));
    }

    function test_advance_complete_windowPlusOne_paysSeller() public {
        _reviewing(ID);
        vm.warp(T0 + REVIEW + 1);
        escrow.advance(ID);
        assertEq(_bal(seller), AMOUNT - _fee(AMOUNT));
    }

    function test_advance_fromProofAfterBothWindows_completesInOneCall() public {
        _proved(ID);
        vm.warp(T0 + 2 * REVIEW);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.ReviewStarted(ID, address(this), uint64(T0 + REVIEW));
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderCompleted(ID, address(this), AMOUNT - _fee(AMOUNT), _fee(AMOUNT));
        escrow.advance(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.COMPLETED));
    }

    function test_advance_defaultRuling_windowMinusOne_reverts() public {
        _disputed(ID);
        vm.warp(T0 + ARBITER_WINDOW - 1);
        _advanceRevertsNothingDue(IPactEscrow.State.DISPUTED, T0 + ARBITER_WINDOW);
    }

    function test_advance_defaultRuling_windowExactly_resolves() public {
        _disputed(ID);
        vm.prank(buyer);
        escrow.proposeSettlement(ID, 9000);
        vm.warp(T0 + ARBITER_WINDOW);
        uint256 gross = (AMOUNT * DEFAULT_SELLER_BPS) / 10_000;
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderResolved(
            ID,
            stranger,
            IPactEscrow.Resolution.DEFAULT_RULING,
            DEFAULT_SELLER_BPS,
            AMOUNT - gross,
            gross - _fee(gross),
            _fee(gross)
        );
        vm.prank(stranger);
        escrow.advance(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
        assertEq(escrow.settlementOf(ID).proposer, address(0));
    }

    function test_advance_defaultRuling_windowPlusOne_resolves() public {
        _disputed(ID);
        vm.warp(T0 + ARBITER_WINDOW + 1);
        escrow.advance(ID);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
    }

    function test_advance_unknownOrder_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderNotFound.selector, ID));
        escrow.advance(ID);
    }

    function test_advance_terminal_reverts() public {
        _fund(ID);
        vm.prank(buyer);
        escrow.cancel(ID);
        vm.warp(DELIVER_BY + 1);
        _advanceRevertsNothingDue(IPactEscrow.State.REFUNDED, 0);
    }

    function test_advanceMany_skipsNotDueAndUnknown() public {
        bytes32 a = _oid(buyer, "a");
        bytes32 b = _oid(buyer, "b");
        _reviewing(a);
        _fund(b);
        vm.warp(T0 + REVIEW);
        bytes32[] memory ids = new bytes32[](3);
        ids[0] = a;
        ids[1] = b;
        ids[2] = _oid(buyer, "unknown");
        assertEq(escrow.advanceMany(ids), 1);
        assertEq(uint8(_state(a)), uint8(IPactEscrow.State.COMPLETED));
        assertEq(uint8(_state(b)), uint8(IPactEscrow.State.ESCROWED));
        assertEq(escrow.advanceMany(ids), 0);
    }

    function test_nextDeadline_eachState() public {
        IPactEscrow.Action action;
        uint64 at;
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.NONE));
        assertEq(at, 0);

        _fund(ID);
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.REFUND_EXPIRED));
        assertEq(at, DELIVER_BY + 1);

        _prove(ID);
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.START_REVIEW));
        assertEq(at, T0 + REVIEW);

        // The review started by the clock (getOrder says REVIEWING) but is not written: still START_REVIEW, due.
        vm.warp(T0 + REVIEW);
        assertEq(uint8(escrow.getOrder(ID).state), uint8(IPactEscrow.State.REVIEWING));
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.START_REVIEW));
        assertEq(at, T0 + REVIEW);

        escrow.advance(ID); // writes REVIEWING
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.COMPLETE));
        assertEq(at, T0 + 2 * REVIEW);

        vm.warp(T0 + 2 * REVIEW - 1);
        _advanceRevertsNothingDue(IPactEscrow.State.REVIEWING, T0 + 2 * REVIEW);

        vm.warp(T0 + 3 * REVIEW);
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.COMPLETE));
        assertEq(at, T0 + 2 * REVIEW);

        escrow.advance(ID);
        (action, at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.NONE));
        assertEq(at, 0);
    }

    function test_getOrder_unknownId_isEmpty() public view {
        IPactEscrow.Order memory o = escrow.getOrder(ID);
        assertEq(uint8(o.state), uint8(IPactEscrow.State.NONE));
        assertEq(o.buyer, address(0));
        assertEq(o.seller, address(0));
        assertEq(o.amount, 0);
    }

    function test_nextDeadline_disputed() public {
        _disputed(ID);
        (IPactEscrow.Action action, uint64 at) = escrow.nextDeadline(ID);
        assertEq(uint8(action), uint8(IPactEscrow.Action.DEFAULT_RULING));
        assertEq(at, T0 + ARBITER_WINDOW);
    }

    // ----------------------------------------------------------------------------------------------------
    // terminal states are final
    // ----------------------------------------------------------------------------------------------------

    function test_terminal_everyMutatorReverts() public {
        bytes32 c = _oid(buyer, "completed");
        bytes32 r = _oid(buyer, "refunded");
        bytes32 s = _oid(buyer, "resolved");
        _proved(c);
        _accept(c);
        _fund(r);
        vm.prank(buyer);
        escrow.cancel(r);
        _disputed(s);
        vm.prank(arbiter);
        escrow.resolve(s, 5000);
        vm.warp(T0 + 30 days);
        bytes32[3] memory ids = [c, r, s];
        for (uint256 i; i < 3; ++i) {
            _expectAllRevert(ids[i]);
        }
    }

    function _expectAllRevert(bytes32 id) internal {
        uint256 escrowBefore = _bal(address(escrow));
        vm.startPrank(seller);
        vm.expectRevert();
        escrow.startDelivery(id);
        vm.expectRevert();
        escrow.submitProof(id, PROOF, URI);
        vm.expectRevert();
        escrow.refund(id);
        vm.expectRevert();
        escrow.dispute(id, bytes32(0));
        vm.expectRevert();
        escrow.proposeSettlement(id, 1);
        vm.stopPrank();
        vm.startPrank(buyer);
        vm.expectRevert();
        escrow.startReview(id);
        vm.expectRevert();
        escrow.accept(id);
        vm.expectRevert();
        escrow.reject(id, bytes32(0));
        vm.expectRevert();
        escrow.cancel(id);
        vm.expectRevert();
        escrow.acceptSettlement(id, 1);
        vm.stopPrank();
        vm.prank(arbiter);
        vm.expectRevert();
        escrow.resolve(id, 1);
        vm.expectRevert();
        escrow.advance(id);
        assertEq(_bal(address(escrow)), escrowBefore);
    }
}
