// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

/// @notice Shared setup: a token (TestUSDT unless overridden), an escrow, the actors and lifecycle helpers.
abstract contract EscrowFixture is Test {
    PactEscrow internal escrow;
    address internal token;

    address internal owner = makeAddr("owner");
    address internal arbiter = makeAddr("arbiter");
    address internal treasury = makeAddr("treasury");
    address internal buyer = makeAddr("buyer");
    address internal seller = makeAddr("seller");
    address internal stranger = makeAddr("stranger");

    uint16 internal constant FEE_BPS = 100;
    uint16 internal constant MAX_FEE_BPS = 1000;
    uint32 internal constant REVIEW = 72 hours;
    uint32 internal constant ARBITER_WINDOW = 7 days;
    uint16 internal constant DEFAULT_SELLER_BPS = 5000;
    uint256 internal constant AMOUNT = 100e6;
    uint256 internal constant T0 = 1_750_000_000;
    uint64 internal constant DELIVER_BY = uint64(T0 + 5 days);

    /// @dev The buyer's first order id (the high 160 bits of an order id are its buyer).
    bytes32 internal ID = _oid(buyer, "order-1");
    bytes32 internal constant TERMS = keccak256("terms");
    bytes32 internal constant PROOF = keccak256("proof");
    string internal constant URI = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    function setUp() public virtual {
        vm.warp(T0);
        token = _deployToken();
        escrow = new PactEscrow(
            token,
            owner,
            arbiter,
            treasury,
            MAX_FEE_BPS,
            IPactEscrow.Config(FEE_BPS, REVIEW, ARBITER_WINDOW, DEFAULT_SELLER_BPS)
        );
        _mint(buyer, 1_000_000_000e6);
        _approve(buyer, type(uint256).max);
    }

    /// @dev Override to run the same suite against another token.
    function _deployToken() internal virtual returns (address) {
        return address(new TestUSDT("Tether USD", "USDT", 6));
    }

    function _mint(address to, uint256 amount) internal {
        (bool ok,) = token.call(abi.encodeWithSignature("mint(address,uint256)", to, amount));
        require(ok, "mint failed");
    }

    function _approve(address from, uint256 amount) internal {
        vm.prank(from);
        (bool ok,) = token.call(abi.encodeWithSignature("approve(address,uint256)", address(escrow), amount));
        require(ok, "approve failed");
    }

    function _bal(address account) internal view returns (uint256) {
        (bool ok, bytes memory data) =
            token.staticcall(abi.encodeWithSignature("balanceOf(address)", account));
        require(ok, "balanceOf failed");
        return abi.decode(data, (uint256));
    }

    /// @dev An order id in `b`'s namespace: `b` in the high 160 bits, 96 bits of `label`'s hash below.
    function _oid(address b, string memory label) internal pure returns (bytes32) {
        return _oidSalt(b, keccak256(bytes(label)));
    }

    function _oidSalt(address b, bytes32 salt) internal pure returns (bytes32) {
        return bytes32((uint256(uint160(b)) << 96) | uint96(uint256(salt)));
    }

    function _fund(bytes32 id) internal {
        _fund(id, AMOUNT);
    }

    function _fund(bytes32 id, uint256 amount) internal {
        vm.prank(buyer);
        escrow.fund(id, seller, amount, DELIVER_BY, TERMS);
    }

    function _deliver(bytes32 id) internal {
        vm.prank(seller);
        escrow.startDelivery(id);
    }

    function _prove(bytes32 id) internal {
        vm.prank(seller);
        escrow.submitProof(id, PROOF, URI);
    }

    function _review(bytes32 id) internal {
        vm.prank(buyer);
        escrow.startReview(id);
    }

    function _accept(bytes32 id) internal {
        vm.prank(buyer);
        escrow.accept(id);
    }

    function _reject(bytes32 id) internal {
        vm.prank(buyer);
        escrow.reject(id, keccak256("bad"));
    }

    function _dispute(bytes32 id, address by) internal {
        vm.prank(by);
        escrow.dispute(id, keccak256("evidence"));
    }

    function _funded(bytes32 id) internal {
        _fund(id);
    }

    function _proved(bytes32 id) internal {
        _fund(id);
        _prove(id);
    }

    function _reviewing(bytes32 id) internal {
        _proved(id);
        _review(id);
    }

    function _disputed(bytes32 id) internal {
        _proved(id);
        _dispute(id, buyer);
    }

    function _state(bytes32 id) internal view returns (IPactEscrow.State) {
        return escrow.getOrder(id).state;
    }

    function _fee(uint256 gross) internal pure returns (uint256) {
        return (gross * FEE_BPS) / 10_000;
    }
}
