// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {EscrowHandler} from "./EscrowHandler.sol";
import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TetherLike} from "test/utils/TetherLike.sol";
import {BlocklistToken, DoubleEntryToken, ReturnsFalseToken} from "test/utils/Tokens.sol";

/// @notice Invariants of the escrow under random lifecycles, blocklists, donations, the owner's every admin action
///         (rescues through any entry point, pause, arbiter, treasury, settings) and the token's quirks (all through
///         `EscrowHandler`), run once per token kind (the contracts below). Headline: no admin key can reduce the
///         escrowed token's balance below liabilities.
abstract contract PactEscrowInvariantBase is Test {
    PactEscrow internal escrow;
    address internal token;
    EscrowHandler internal handler;
    address internal owner = makeAddr("owner");
    address internal arbiter = makeAddr("arbiter");
    address internal treasury = makeAddr("treasury");
    uint16 internal constant MAX_FEE_BPS = 1000;

    function _token() internal virtual returns (address, EscrowHandler.Kind);

    function setUp() public {
        vm.warp(1_750_000_000);
        EscrowHandler.Kind kind;
        (token, kind) = _token();
        escrow = new PactEscrow(
            token, owner, arbiter, treasury, MAX_FEE_BPS, IPactEscrow.Config(100, 72 hours, 7 days, 5000)
        );
        // The handler mints and runs the token's own admin powers (it owns the Tether-faithful token).
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        if (kind == EscrowHandler.Kind.TETHER) TetherLike(token).transferOwnership(next);
        handler = new EscrowHandler(escrow, token, kind, owner, arbiter);
        targetContract(address(handler));
    }

    /// @notice Balance covers open escrow + accrued fees + claimables, exactly (+ donations - rescues); the
    ///         contract's `liabilities()` equals that sum rebuilt from orders and claimables.
    function invariant_balanceCoversLiabilities() public view {
        uint256 open;
        bytes32[] memory ids = handler.allIds();
        for (uint256 i; i < ids.length; ++i) {
            IPactEscrow.Order memory o = escrow.getOrder(ids[i]);
            if (handler.payouts(ids[i]) == 0) open += o.amount;
        }
        uint256 claims;
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            claims += escrow.claimable(actors[i]);
        }
        uint256 owed = open + escrow.accruedFees() + claims;
        assertEq(escrow.liabilities(), owed, "liabilities() != open + fees + claims");
        uint256 balance = handler.balanceOf(address(escrow));
        assertGe(balance, owed, "balance below liabilities");
        assertEq(balance, owed + handler.donated() - handler.rescued(), "balance != liabilities + surplus");
    }

    /// @notice Each order pays out at most once (exactly once once terminal), splits exactly what was funded,
    ///         never takes more than the capped fee, and only moves forward.
    function invariant_ordersPayOnceAndSplitExactly() public view {
        assertEq(handler.violation(), "", handler.violation());
        bytes32[] memory ids = handler.allIds();
        for (uint256 i; i < ids.length; ++i) {
            bytes32 id = ids[i];
            IPactEscrow.Order memory o = escrow.getOrder(id);
            uint256 n = handler.payouts(id);
            assertLe(n, 1, "paid out twice");
            bool stored = uint8(o.state) == uint8(IPactEscrow.State.REFUNDED)
                || uint8(o.state) == uint8(IPactEscrow.State.RESOLVED);
            if (stored) assertEq(n, 1, "terminal without payout");
            if (n == 1) {
                uint256 fee = handler.feeOut(id);
                assertEq(
                    handler.buyerOut(id) + handler.sellerOut(id) + fee, handler.funded(id), "split != funded"
                );
                assertLe(fee * 10_000, (handler.sellerOut(id) + fee) * MAX_FEE_BPS, "fee above cap");
            }
        }
    }

    /// @notice After warping past every window, `advanceMany` brings every order to a terminal state.
    function invariant_advanceManyTerminatesAfterAllWindows() public {
        uint256 snapshot = vm.snapshotState();
        vm.warp(block.timestamp + 400 days);
        bytes32[] memory ids = handler.allIds();
        escrow.advanceMany(ids);
        for (uint256 i; i < ids.length; ++i) {
            uint8 s = uint8(escrow.getOrder(ids[i]).state);
            assertTrue(
                s == uint8(IPactEscrow.State.COMPLETED) || s == uint8(IPactEscrow.State.REFUNDED)
                    || s == uint8(IPactEscrow.State.RESOLVED),
                "order not terminal"
            );
        }
        assertEq(escrow.advanceMany(ids), 0, "second sweep changed something");
        vm.revertToState(snapshot);
    }
}

/// @notice Recipient-blocklisting ERC-20 (USDC-like).
contract PactEscrowInvariantTest is PactEscrowInvariantBase {
    function _token() internal override returns (address, EscrowHandler.Kind) {
        return (address(new BlocklistToken()), EscrowHandler.Kind.BLOCKLIST);
    }
}

/// @notice The Tether-faithful token: sender blocklist (the escrow included), fee switch, `destroyBlackFunds` of
///         parties, `deprecate` to an upgraded contract that the owner then tries to rescue through.
contract PactEscrowTetherInvariantTest is PactEscrowInvariantBase {
    function _token() internal override returns (address, EscrowHandler.Kind) {
        return (address(new TetherLike()), EscrowHandler.Kind.TETHER);
    }
}

/// @notice Two entry points to one set of balances.
contract PactEscrowDoubleEntryInvariantTest is PactEscrowInvariantBase {
    function _token() internal override returns (address, EscrowHandler.Kind) {
        return (address(new DoubleEntryToken()), EscrowHandler.Kind.DOUBLE_ENTRY);
    }
}

/// @notice `transfer` that fails by returning false, or moves the funds and still returns false.
contract PactEscrowReturnsFalseInvariantTest is PactEscrowInvariantBase {
    function _token() internal override returns (address, EscrowHandler.Kind) {
        return (address(new ReturnsFalseToken()), EscrowHandler.Kind.RETURNS_FALSE);
    }
}
