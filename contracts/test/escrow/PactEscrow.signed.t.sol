// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {ERC1271Wallet} from "test/utils/ERC1271Wallet.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {MockERC20} from "test/utils/Tokens.sol";

/// @notice `fundWithOffer` (EIP-712 seller offers, ECDSA and ERC-1271) and `fundWithPermit` (EIP-2612).
contract PactEscrowSignedTest is EscrowFixture {
    uint256 internal sellerPk = uint256(keccak256(abi.encodePacked("seller")));
    uint256 internal buyerPk = uint256(keccak256(abi.encodePacked("buyer")));
    uint64 internal constant EXPIRY = uint64(T0 + 1 days);

    function _deployToken() internal override returns (address) {
        return address(new MockERC20("Standard USD", 6));
    }

    function _offer() internal view returns (IPactEscrow.Offer memory) {
        return IPactEscrow.Offer({
            orderId: ID,
            seller: seller,
            buyer: buyer,
            amount: AMOUNT,
            deliverBy: DELIVER_BY,
            termsHash: TERMS,
            expiry: EXPIRY
        });
    }

    function _sign(uint256 pk, IPactEscrow.Offer memory offer) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, escrow.hashOffer(offer));
        return abi.encodePacked(r, s, v);
    }

    // ----- EIP-712 -----

    function test_hashOffer_matchesTypeStringAndDomain() public view {
        assertEq(
            escrow.OFFER_TYPEHASH(),
            keccak256(
                "Offer(bytes32 orderId,address seller,address buyer,uint256 amount,uint64 deliverBy,bytes32 termsHash,uint64 expiry)"
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("PactEscrow"),
                keccak256("1"),
                block.chainid,
                address(escrow)
            )
        );
        assertEq(escrow.DOMAIN_SEPARATOR(), domain);
        IPactEscrow.Offer memory o = _offer();
        bytes32 structHash = keccak256(
            abi.encode(
                escrow.OFFER_TYPEHASH(),
                o.orderId,
                o.seller,
                o.buyer,
                o.amount,
                o.deliverBy,
                o.termsHash,
                o.expiry
            )
        );
        assertEq(escrow.hashOffer(o), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    // ----- fundWithOffer -----

    function test_fundWithOffer_validSignature_funds() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.expectEmit(address(escrow));
        emit IPactEscrow.OrderFunded(ID, buyer, seller, AMOUNT, DELIVER_BY, TERMS, 0);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
        assertEq(escrow.getOrder(ID).seller, seller);
        assertEq(_bal(address(escrow)), AMOUNT);
    }

    function test_fundWithOffer_openOffer_anyBuyer() public {
        IPactEscrow.Offer memory o = _offer();
        o.buyer = address(0);
        o.orderId = _oid(address(0), "open-offer"); // an open offer's id is in the zero namespace
        bytes memory sig = _sign(sellerPk, o);
        _mint(stranger, AMOUNT);
        _approve(stranger, AMOUNT);
        vm.prank(stranger);
        escrow.fundWithOffer(o, sig);
        assertEq(escrow.getOrder(o.orderId).buyer, stranger);
    }

    /// @notice An open offer whose id is in a buyer's namespace cannot be taken (not even by that buyer): the seller
    ///         signs zero-namespace ids for open offers.
    function test_fundWithOffer_openOffer_buyerNamespacedId_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        o.buyer = address(0);
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, ID, buyer));
        escrow.fundWithOffer(o, sig);
    }

    /// @notice A restricted offer's id must be in its buyer's namespace.
    function test_fundWithOffer_restrictedOffer_foreignId_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        o.orderId = _oid(stranger, "order-1");
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, o.orderId, buyer));
        escrow.fundWithOffer(o, sig);
    }

    /// @notice Defect 1 of the review: a restricted offer cannot be killed by a third party funding its id first
    ///         (before the fix, `fund(offer.orderId, seller, 1, ...)` by anyone made `fundWithOffer` revert with
    ///         `EscrowOrderExists` forever).
    function test_fundWithOffer_cannotBeSquattedByAThirdParty() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        _mint(stranger, 1);
        _approve(stranger, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowForeignOrderId.selector, ID, stranger));
        escrow.fund(o.orderId, seller, 1, DELIVER_BY, TERMS);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
        assertEq(escrow.getOrder(ID).amount, AMOUNT);
    }

    function test_fundWithOffer_wrongBuyer_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOfferWrongBuyer.selector, buyer, stranger));
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_expiryMinusOne_succeeds() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.warp(EXPIRY - 1);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_expiryExactly_succeeds() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.warp(EXPIRY);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_expiryPlusOne_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.warp(EXPIRY + 1);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOfferExpired.selector, EXPIRY, EXPIRY + 1));
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_replay_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowOrderExists.selector, ID));
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_otherSigner_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(buyerPk, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSignature.selector, seller));
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_malformedSignature_reverts() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSignature.selector, seller));
        escrow.fundWithOffer(_offer(), hex"1234");
    }

    /// @dev Signs the genuine offer, then changes one field at a time: each must fail with the exact error.
    function test_fundWithOffer_tamperedField_reverts() public {
        IPactEscrow.Offer memory good = _offer();
        bytes memory sig = _sign(sellerPk, good);
        for (uint256 field; field < 7; ++field) {
            IPactEscrow.Offer memory o = _offer();
            if (field == 0) o.orderId = _oid(buyer, "other");
            if (field == 1) o.seller = stranger;
            if (field == 2) o.buyer = address(0);
            if (field == 3) o.amount = AMOUNT + 1;
            if (field == 4) o.deliverBy = DELIVER_BY + 1;
            if (field == 5) o.termsHash = keccak256("other terms");
            if (field == 6) o.expiry = EXPIRY + 1;
            vm.prank(buyer);
            vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSignature.selector, o.seller));
            escrow.fundWithOffer(o, sig);
        }
        vm.prank(buyer);
        escrow.fundWithOffer(good, sig);
    }

    function test_fundWithOffer_erc1271Seller_funds() public {
        ERC1271Wallet wallet = new ERC1271Wallet(seller);
        IPactEscrow.Offer memory o = _offer();
        o.seller = address(wallet);
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(buyer);
        escrow.fundWithOffer(o, sig);
        assertEq(escrow.getOrder(ID).seller, address(wallet));
    }

    function test_fundWithOffer_erc1271WrongSigner_reverts() public {
        ERC1271Wallet wallet = new ERC1271Wallet(seller);
        IPactEscrow.Offer memory o = _offer();
        o.seller = address(wallet);
        bytes memory sig = _sign(buyerPk, o);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowInvalidSignature.selector, address(wallet)));
        escrow.fundWithOffer(o, sig);
    }

    function test_fundWithOffer_paused_reverts() public {
        IPactEscrow.Offer memory o = _offer();
        bytes memory sig = _sign(sellerPk, o);
        vm.prank(owner);
        escrow.setPaused(true);
        vm.prank(buyer);
        vm.expectRevert(IPactEscrow.EscrowPaused.selector);
        escrow.fundWithOffer(o, sig);
    }

    // ----- fundWithPermit -----

    function _permitSig(uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        MockERC20 t = MockERC20(token);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                buyer,
                address(escrow),
                value,
                t.nonces(buyer),
                deadline
            )
        );
        (v, r, s) =
            vm.sign(buyerPk, keccak256(abi.encodePacked("\x19\x01", t.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_fundWithPermit_funds() public {
        _approve(buyer, 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(AMOUNT, T0 + 1 hours);
        vm.prank(buyer);
        escrow.fundWithPermit(ID, seller, AMOUNT, DELIVER_BY, TERMS, T0 + 1 hours, v, r, s);
        assertEq(_bal(address(escrow)), AMOUNT);
        assertEq(MockERC20(token).allowance(buyer, address(escrow)), 0);
    }

    function test_fundWithPermit_frontRunPermit_tolerated() public {
        _approve(buyer, 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(AMOUNT, T0 + 1 hours);
        vm.prank(stranger); // a front-runner submits the permit first
        MockERC20(token).permit(buyer, address(escrow), AMOUNT, T0 + 1 hours, v, r, s);
        vm.prank(buyer);
        escrow.fundWithPermit(ID, seller, AMOUNT, DELIVER_BY, TERMS, T0 + 1 hours, v, r, s);
        assertEq(_bal(address(escrow)), AMOUNT);
    }

    function test_fundWithPermit_badPermitNoAllowance_reverts() public {
        _approve(buyer, 0);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(AMOUNT, T0 + 1 hours);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowPermitFailed.selector, 0, AMOUNT + 1));
        escrow.fundWithPermit(ID, seller, AMOUNT + 1, DELIVER_BY, TERMS, T0 + 1 hours, v, r, s);
    }

    function test_fundWithPermit_tokenWithoutPermit_usesAllowance() public {
        TestUSDT usdt = new TestUSDT("Tether USD", "USDT", 6);
        PactEscrow e = new PactEscrow(
            address(usdt),
            owner,
            arbiter,
            treasury,
            MAX_FEE_BPS,
            IPactEscrow.Config(FEE_BPS, REVIEW, ARBITER_WINDOW, DEFAULT_SELLER_BPS)
        );
        usdt.mint(buyer, AMOUNT);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IPactEscrow.EscrowPermitFailed.selector, 0, AMOUNT));
        e.fundWithPermit(ID, seller, AMOUNT, DELIVER_BY, TERMS, 0, 0, 0, 0);
        vm.prank(buyer);
        usdt.approve(address(e), AMOUNT);
        vm.prank(buyer);
        e.fundWithPermit(ID, seller, AMOUNT, DELIVER_BY, TERMS, 0, 0, 0, 0);
        assertEq(usdt.balanceOf(address(e)), AMOUNT);
    }
}
