// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {MockERC20} from "test/utils/Tokens.sol";

/// @notice Regressions for the independent review of PactEscrow (issue 15): order-id squatting and the default ruling
///         of a dispute opened before any proof. Every test here fails on the code before the fix. The token-specific
///         items (second entry points, fee switch, lying transfers) are in `PactEscrow.tokens.t.sol`.
contract PactEscrowHardeningTest is EscrowFixture {
    // ----- 1. order ids are in their buyer's namespace -----

    /// @notice The mempool squat: a third party funds the id the API handed the buyer with 1 unit (then cancels);
    ///         the id is the buyer's, so the squat reverts and the buyer's own funding goes through.
    function test_squat_thirdPartyCannotOccupyTheBuyersId() public {
        _mint(stranger, 1);
        _approve(stranger, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, ID, stranger));
        escrow.fund(ID, seller, 1, DELIVER_BY, TERMS);
        _fund(ID);
        IPactEscrow.Order memory o = escrow.getOrder(ID);
        assertEq(o.buyer, buyer);
        assertEq(o.amount, AMOUNT);
    }

    /// @notice A look-alike (same seller and terms, 1 unit) cannot be placed under the buyer's id either, through
    ///         any funding entry point.
    function test_squat_lookAlikeThroughEveryEntryPoint_reverts() public {
        _mint(stranger, 1);
        _approve(stranger, 1);
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, ID, stranger));
        escrow.fund(ID, seller, 1, DELIVER_BY, TERMS);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, ID, stranger));
        escrow.fundWithPermit(ID, seller, 1, DELIVER_BY, TERMS, block.timestamp, 27, bytes32(0), bytes32(0));
        vm.stopPrank();
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.NONE));
    }

    /// @notice The zero namespace belongs to open offers: plain `fund` never reaches it.
    function test_fund_zeroNamespace_reverts() public {
        bytes32 id = _oid(address(0), "open");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, id, buyer));
        escrow.fund(id, seller, AMOUNT, DELIVER_BY, TERMS);
    }

    /// @notice The namespace is exactly the high 160 bits: any 96-bit nonce is the buyer's, one flipped bit of the
    ///         address is someone else's.
    function testFuzz_orderId_onlyItsBuyerFunds(address caller, uint96 nonce, uint8 bit) public {
        vm.assume(caller != address(0) && caller != seller && caller != address(escrow));
        bytes32 own = _oidSalt(caller, bytes32(uint256(nonce)));
        bytes32 foreign = own ^ bytes32(uint256(1) << (96 + uint256(bit) % 160));
        _mint(caller, 2 * AMOUNT);
        _approve(caller, 0);
        _approve(caller, 2 * AMOUNT);
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, foreign, caller));
        escrow.fund(foreign, seller, AMOUNT, DELIVER_BY, TERMS);
        vm.prank(caller);
        escrow.fund(own, seller, AMOUNT, DELIVER_BY, TERMS);
        assertEq(escrow.getOrder(own).buyer, caller);
        assertEq(uint256(own) >> 96, uint160(caller));
    }

    /// @notice The shared vector (`test/vectors/order_ids.json`, also read by the Rust bindings' test): the id
    ///         layout both sides compute.
    function test_orderId_sharedVector() public view {
        string memory json = vm.readFile("test/vectors/order_ids.json");
        uint256 n = vm.parseJsonUint(json, ".count");
        for (uint256 i; i < n; ++i) {
            string memory k = string.concat(".vectors[", vm.toString(i), "]");
            address b = vm.parseJsonAddress(json, string.concat(k, ".buyer"));
            uint256 nonce = vm.parseJsonUint(json, string.concat(k, ".nonce"));
            bytes32 id = vm.parseJsonBytes32(json, string.concat(k, ".orderId"));
            assertEq(_oidSalt(b, bytes32(nonce)), id);
            assertEq(address(uint160(uint256(id) >> 96)), b);
        }
    }

    // ----- 3. arbiter silence never pays a seller who never delivered -----

    /// @notice A dispute opened before any proof (by either party) defaults to a full refund of the buyer, whatever
    ///         the snapshot's `defaultSellerBps`; before the fix the seller got half.
    function test_defaultRuling_disputeBeforeAnyProof_refundsBuyer() public {
        for (uint256 k; k < 2; ++k) {
            bytes32 id = _oid(buyer, k == 0 ? "by-buyer" : "by-seller");
            _fund(id);
            _deliver(id);
            _dispute(id, k == 0 ? buyer : seller);
            assertEq(escrow.defaultRulingBps(id), 0);
            assertEq(escrow.getOrder(id).rejections, 0, "the no-proof flag is not a rejection");
        }
        vm.warp(block.timestamp + ARBITER_WINDOW);
        for (uint256 k; k < 2; ++k) {
            bytes32 id = _oid(buyer, k == 0 ? "by-buyer" : "by-seller");
            uint256 before = _bal(buyer);
            vm.expectEmit(address(escrow));
            emit IPactEscrow.OrderResolved(
                id, stranger, IPactEscrow.Resolution.DEFAULT_RULING, 0, AMOUNT, 0, 0
            );
            vm.prank(stranger);
            escrow.advance(id);
            assertEq(_bal(buyer) - before, AMOUNT);
        }
        assertEq(_bal(seller), 0);
        assertEq(escrow.accruedFees(), 0);
    }

    /// @notice Disputes about a proof keep the configured split: from PROOF_SUBMITTED, REVIEWING, the third
    ///         rejection, and from DELIVERING after a rejected proof (the buyer cannot turn a split into a full
    ///         refund by rejecting first).
    function test_defaultRuling_disputeAboutAProof_keepsTheSplit() public {
        bytes32[4] memory ids = [
            _oid(buyer, "proved"), _oid(buyer, "reviewing"), _oid(buyer, "third"), _oid(buyer, "redelivering")
        ];
        _proved(ids[0]);
        _dispute(ids[0], seller);
        _reviewing(ids[1]);
        _dispute(ids[1], buyer);
        _proved(ids[2]);
        for (uint256 i; i < 3; ++i) {
            _reject(ids[2]);
            if (i < 2) _prove(ids[2]);
        }
        _proved(ids[3]);
        _reject(ids[3]);
        _dispute(ids[3], buyer);
        uint256 gross = (AMOUNT * DEFAULT_SELLER_BPS) / 10_000;
        for (uint256 i; i < ids.length; ++i) {
            assertEq(uint8(_state(ids[i])), uint8(IPactEscrow.State.DISPUTED));
            assertEq(escrow.defaultRulingBps(ids[i]), DEFAULT_SELLER_BPS);
        }
        vm.warp(block.timestamp + ARBITER_WINDOW);
        uint256 sellerBefore = _bal(seller);
        escrow.advanceMany(_ids(ids));
        assertEq(_bal(seller) - sellerBefore, 4 * (gross - _fee(gross)));
    }

    /// @notice The arbiter still rules either way within its window; the flag only changes silence.
    function test_defaultRuling_noProofDispute_arbiterCanStillSplit() public {
        _fund(ID);
        _deliver(ID);
        _dispute(ID, buyer);
        vm.prank(arbiter);
        escrow.resolve(ID, 7000);
        uint256 gross = (AMOUNT * 7000) / 10_000;
        assertEq(_bal(seller), gross - _fee(gross));
        assertEq(escrow.defaultRulingBps(ID), 0, "not disputed any more");
    }

    /// @notice Pinned twin of the fuzz below: from DELIVERING with no rejection the buyer gets everything.
    function testFuzz_defaultRuling_noProofAlwaysRefunds(uint256 defaultBps, uint256 arbiterWindow) public {
        vm.prank(owner);
        escrow.setConfig(
            FEE_BPS, REVIEW, uint32(bound(arbiterWindow, 1, 365 days)), uint16(bound(defaultBps, 0, 10_000))
        );
        _fund(ID);
        _deliver(ID);
        _dispute(ID, seller);
        vm.warp(block.timestamp + 365 days);
        uint256 before = _bal(buyer);
        escrow.advance(ID);
        assertEq(_bal(buyer) - before, AMOUNT);
        assertEq(uint8(_state(ID)), uint8(IPactEscrow.State.RESOLVED));
    }

    function _ids(bytes32[4] memory a) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](4);
        for (uint256 i; i < 4; ++i) {
            out[i] = a[i];
        }
    }
}

/// @notice Rescue is guarded by the outcome for any token address (the token-specific second entry points are in
///         the token matrix): an unrelated token sent by mistake is still rescuable, even while the escrowed token's
///         balance is below liabilities for reasons outside the escrow.
contract PactEscrowRescueOutcomeTest is EscrowFixture {
    function test_rescue_unrelatedToken_whileEscrowBelowCover_succeeds() public {
        _fund(ID);
        MockERC20 other = new MockERC20("Other", 6);
        other.mint(address(escrow), 5e6);
        // The escrowed balance falls below liabilities outside the escrow (a token admin burning it).
        deal(token, address(escrow), AMOUNT / 2);
        vm.prank(owner);
        escrow.rescue(address(other), owner, 5e6);
        assertEq(other.balanceOf(owner), 5e6);
    }
}
