// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";

import {TestUSDT} from "src/test/TestUSDT.sol";
import {EscrowFixture} from "test/utils/EscrowFixture.sol";
import {MockERC20} from "test/utils/Tokens.sol";

/// @notice Named gas snapshots of the hot paths, as WHOLE-TRANSACTION gas.
/// @dev How the figure relates to a real transaction:
///      - each step lives in its own test contract whose `setUp` builds the state before it, so the measured call
///        is the first thing the test transaction does: every slot and the token account are cold and every
///        SSTORE is priced against the value at transaction start, exactly as in a real transaction;
///      - `vm.lastCallGas().gasTotalUsed` (= `vm.snapshotGasLastCall`, the `_exec` snapshots) is the gas spent
///        inside the escrow's call frame (the CALL opcode's own cost is charged to the test contract and not
///        included; in a real transaction `to` is pre-warmed);
///      - whole-tx = max(21 000 + 4 * tokens + execution - refund, 21 000 + 10 * tokens) with
///        tokens = zeroBytes + 4 * nonZeroBytes of the calldata (EIP-2028 + the EIP-7623 floor, Prague).
///        No refund arises on these paths (asserted), so the number is not flattered by one;
///      - steady state: earlier orders have completed (fees accrued), the escrow, the treasury and the seller
///        already hold the token (first-ever credit of a
///        balance slot costs 20k more in the token, not in the escrow); the buyer's allowance is large and
///        finite, so the token writes it on every pull (a max allowance would be cheaper).
///      The happy path is fund + submitProof + accept, i.e. the sum of the three whole-tx snapshots; the same
///      sequence sent as three real transactions to anvil (`script/escrow-gas-probe.sh`) gives identical
///      receipt `gasUsed`.
abstract contract GasBase is EscrowFixture {
    bytes32 internal GAS_ID =
        _oidSalt(buyer, bytes32(0x6f1d6a7e0b3c4d2e9a8f7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e));
    bytes32 internal constant GAS_TERMS = 0x9c22ff5f21f0b81b113e63f7db6da94fedef11b2119b4088b89664fb9a3cb658;
    bytes32 internal constant GAS_PROOF = 0x2b2f7e3d9a1c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b;
    /// @dev A CIDv1 (base32, sha2-256) as returned by IPFS pinning services: a realistic proof URI.
    string internal constant GAS_URI = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    function _usdt() internal pure virtual returns (bool);

    function _tag() internal pure returns (string memory) {
        return _usdt() ? "TestUSDT" : "ERC20";
    }

    function _deployToken() internal override returns (address) {
        if (_usdt()) return address(new TestUSDT("Tether USD", "USDT", 6));
        return address(new MockERC20("Standard USD", 6));
    }

    function setUp() public virtual override {
        super.setUp();
        // Large finite allowance (TestUSDT needs a reset to zero first).
        _approve(buyer, 0);
        _approve(buyer, 1e30);
        // Steady state: a completed order left accrued fees (the ledger slot is non-zero), another open order
        // keeps the escrow's balance non-zero; treasury and seller hold tokens.
        _proved(_oid(buyer, "steady-state-done"));
        _accept(_oid(buyer, "steady-state-done"));
        _fund(_oid(buyer, "steady-state"));
        _mint(treasury, 1e6);
        _mint(seller, 1e6);
    }

    /// @dev Fails when a step exceeds `ceiling`. Where the issue's target is met the ceiling IS the target; where
    ///      it is not (fund, submitProof, the TestUSDT payouts: see the README "Gas" for the floor analysis) the
    ///      ceiling is the measured figure rounded up to the next 500, as a regression guard.
    function _check(uint256 whole, uint256 ceiling) internal pure {
        assertLe(whole, ceiling, "gas ceiling exceeded");
    }

    /// @dev Records `<step>_<token>_exec` (call frame) and `<step>_<token>` (whole transaction). Asserts that no
    ///      refund arises (so the figure is not flattered by one).
    function _record(string memory step, bytes memory callData) internal returns (uint256 whole) {
        assertEq(vm.lastCallGas().gasRefunded, 0, "refund would lower whole-tx gas; use _recordWithRefund");
        return _recordWithRefund(step, callData);
    }

    /// @dev As `_record`, for a step whose refund is part of the bargain: whole-tx = standard - min(refund,
    ///      standard / 5) (EIP-3529), floored by EIP-7623.
    function _recordWithRefund(string memory step, bytes memory callData) internal returns (uint256 whole) {
        Vm.Gas memory g = vm.lastCallGas();
        uint256 tokens;
        for (uint256 i; i < callData.length; ++i) {
            tokens += callData[i] == 0 ? 1 : 4;
        }
        uint256 standard = 21_000 + 4 * tokens + g.gasTotalUsed;
        assertGe(g.gasRefunded, 0);
        uint256 refunded = uint256(uint64(g.gasRefunded));
        uint256 refund = refunded < standard / 5 ? refunded : standard / 5;
        standard -= refund;
        uint256 floor = 21_000 + 10 * tokens;
        whole = standard > floor ? standard : floor;
        string memory name = string.concat(step, "_", _tag());
        // `snapshotGasLastCall` records the same call-frame figure as `lastCallGas().gasTotalUsed` (asserted).
        assertEq(vm.snapshotGasLastCall("PactEscrow", string.concat(name, "_exec")), g.gasTotalUsed);
        vm.snapshotValue("PactEscrow", name, whole);
    }
}

/// @dev Funds GAS_ID as the buyer, records it as `step` (with the pull's refund when `refund`), and returns the
///      whole-tx gas and the buyer's allowance left afterwards.
abstract contract GasFundBase is GasBase {
    function _fundRecorded(string memory step, bool refund) internal returns (uint256 whole, uint256 left) {
        vm.prank(buyer);
        escrow.fund(GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS);
        bytes memory callData = abi.encodeCall(escrow.fund, (GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS));
        whole = refund ? _recordWithRefund(step, callData) : _record(step, callData);
        (bool ok, bytes memory data) =
            token.staticcall(abi.encodeWithSignature("allowance(address,address)", buyer, address(escrow)));
        assertTrue(ok);
        left = abi.decode(data, (uint256));
    }
}

/// @dev A large finite standing allowance: the token writes it on every pull.
abstract contract GasFund is GasFundBase {
    function test_gas_fund() public {
        (uint256 whole,) = _fundRecorded("fund", false);
        // Targets 95k / 105k not met with this allowance (the token's write): see README "Gas".
        _check(whole, _usdt() ? 108_000 : 99_000);
    }
}

/// @dev The buyer approves exactly the order's amount before funding (USDT's canonical flow: its `approve` cannot
///      change one non-zero allowance to another, so agents approve per order): the pull consumes the allowance
///      to zero, and the cleared slot's refund (4,800) lowers the whole-tx figure.
abstract contract GasFundExactApproval is GasFundBase {
    function setUp() public override {
        super.setUp();
        _approve(buyer, 0);
        _approve(buyer, AMOUNT);
    }

    function test_gas_fund_exactApproval() public {
        (uint256 whole, uint256 left) = _fundRecorded("fundExactApproval", true);
        assertEq(left, 0, "the allowance was consumed");
        // Targets 95k (ERC-20) / 105k (TestUSDT): met with per-order approval.
        _check(whole, _usdt() ? 105_000 : 95_000);
    }
}

/// @dev A standing unlimited allowance (`type(uint256).max`): OpenZeppelin's ERC-20 and USDT (`MAX_UINT`) then read
///      the allowance but never write it, so the pull costs ~3k less than with a large finite allowance.
abstract contract GasFundMaxApproval is GasFundBase {
    function setUp() public override {
        super.setUp();
        _approve(buyer, 0);
        _approve(buyer, type(uint256).max);
    }

    function test_gas_fund_maxApproval() public {
        (uint256 whole, uint256 left) = _fundRecorded("fundMaxApproval", false);
        assertEq(left, type(uint256).max, "the allowance was not written");
        // TestUSDT: the 105k target is met. ERC-20: 662 above 95k, the fee-on-transfer check (see README "Gas").
        _check(whole, _usdt() ? 105_000 : 96_000);
    }
}

abstract contract GasSubmitProof is GasBase {
    function setUp() public override {
        super.setUp();
        vm.prank(buyer);
        escrow.fund(GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS);
    }

    function test_gas_submitProof() public {
        vm.prank(seller);
        escrow.submitProof(GAS_ID, GAS_PROOF, GAS_URI);
        uint256 whole =
            _record("submitProof", abi.encodeCall(escrow.submitProof, (GAS_ID, GAS_PROOF, GAS_URI)));
        // Target 30k is not met with a 66-byte URI (its calldata + log data alone cost ~2k): see README "Gas".
        _check(whole, 32_500);
    }

    function test_gas_submitProof_emptyURI() public {
        vm.prank(seller);
        escrow.submitProof(GAS_ID, GAS_PROOF, "");
        uint256 whole =
            _record("submitProofEmptyURI", abi.encodeCall(escrow.submitProof, (GAS_ID, GAS_PROOF, "")));
        // Target 30k missed by ~0.24k with an empty URI (solc decodes the string): `submitProofHash` meets it.
        _check(whole, 30_500);
    }

    /// @dev The hash-only proof: the issue's 30k target.
    function test_gas_submitProofHash() public {
        vm.prank(seller);
        escrow.submitProofHash(GAS_ID, GAS_PROOF);
        uint256 whole =
            _record("submitProofHash", abi.encodeCall(escrow.submitProofHash, (GAS_ID, GAS_PROOF)));
        _check(whole, 30_000);
    }
}

abstract contract GasAccept is GasBase {
    function setUp() public override {
        super.setUp();
        vm.prank(buyer);
        escrow.fund(GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS);
        vm.prank(seller);
        escrow.submitProof(GAS_ID, GAS_PROOF, GAS_URI);
    }

    function test_gas_accept() public {
        vm.prank(buyer);
        escrow.accept(GAS_ID);
        uint256 whole = _record("accept", abi.encodeCall(escrow.accept, (GAS_ID)));
        assertEq(escrow.claimable(seller), 0, "payout deferred: the figure would not be a real payout");
        // Target 56k for the standard ERC-20 (met); TestUSDT reads 4 more cold slots in `transfer`.
        _check(whole, _usdt() ? 62_000 : 56_000);
    }
}

abstract contract GasAdvance is GasBase {
    function setUp() public override {
        super.setUp();
        vm.prank(buyer);
        escrow.fund(GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS);
        vm.prank(seller);
        escrow.submitProof(GAS_ID, GAS_PROOF, GAS_URI);
        vm.warp(block.timestamp + REVIEW);
        escrow.advance(GAS_ID); // automatic review start
        vm.warp(block.timestamp + REVIEW);
    }

    function test_gas_advance_autoComplete() public {
        vm.prank(stranger);
        escrow.advance(GAS_ID);
        uint256 whole = _record("advanceComplete", abi.encodeCall(escrow.advance, (GAS_ID)));
        assertEq(escrow.claimable(seller), 0, "payout deferred: the figure would not be a real payout");
        // Target 56k for the standard ERC-20 (met); TestUSDT reads 4 more cold slots in `transfer`.
        _check(whole, _usdt() ? 64_500 : 56_000);
    }
}

/// @dev Both windows elapsed with nobody calling: one `advance` writes the review start and completes.
abstract contract GasAdvanceFromProof is GasBase {
    function setUp() public override {
        super.setUp();
        vm.prank(buyer);
        escrow.fund(GAS_ID, seller, AMOUNT, DELIVER_BY, GAS_TERMS);
        vm.prank(seller);
        escrow.submitProof(GAS_ID, GAS_PROOF, GAS_URI);
        vm.warp(block.timestamp + 2 * uint256(REVIEW));
    }

    function test_gas_advance_autoCompleteFromProof() public {
        vm.prank(stranger);
        escrow.advance(GAS_ID);
        uint256 whole = _record("advanceCompleteFromProof", abi.encodeCall(escrow.advance, (GAS_ID)));
        assertEq(escrow.claimable(seller), 0, "payout deferred: the figure would not be a real payout");
        // Not a target (the target is the completion from REVIEWING); an extra ReviewStarted log.
        _check(whole, _usdt() ? 66_500 : 57_500);
    }
}

contract PactEscrowGasAdvanceFromProofERC20Test is GasAdvanceFromProof {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasAdvanceFromProofUSDTTest is GasAdvanceFromProof {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasFundERC20Test is GasFund {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasFundUSDTTest is GasFund {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasFundExactApprovalERC20Test is GasFundExactApproval {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasFundExactApprovalUSDTTest is GasFundExactApproval {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasSubmitProofERC20Test is GasSubmitProof {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasSubmitProofUSDTTest is GasSubmitProof {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasAcceptERC20Test is GasAccept {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasAcceptUSDTTest is GasAccept {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasAdvanceERC20Test is GasAdvance {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasAdvanceUSDTTest is GasAdvance {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}

contract PactEscrowGasFundMaxApprovalERC20Test is GasFundMaxApproval {
    function _usdt() internal pure override returns (bool) {
        return false;
    }
}

contract PactEscrowGasFundMaxApprovalUSDTTest is GasFundMaxApproval {
    function _usdt() internal pure override returns (bool) {
        return true;
    }
}
