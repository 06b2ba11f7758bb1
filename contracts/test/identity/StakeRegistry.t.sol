// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "forge-std/Test.sol";
import {IdentityRegistry} from "src/identity/IdentityRegistry.sol";
import {StakeRegistry} from "src/identity/StakeRegistry.sol";
import {IStakeRegistry} from "src/interfaces/identity/IStakeRegistry.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

contract StakeRegistryTest is Test {
    IdentityRegistry internal ids;
    StakeRegistry internal stake;
    TestUSDT internal usdt;
    address internal admin = makeAddr("admin");
    address internal owner = makeAddr("owner");
    address internal treasury = makeAddr("treasury");
    bytes32 internal id;
    uint64 internal constant DELAY = 7 days;

    function setUp() public {
        vm.warp(1_800_000_000);
        usdt = new TestUSDT("Tether USD", "USDT", 6);
        ids = new IdentityRegistry(admin);
        stake = new StakeRegistry(address(usdt), address(ids), DELAY, admin);
        (address wallet, uint256 key) = makeAddrAndKey("wallet");
        id = ids.computeId(owner, "m");
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, ids.walletBindingDigest(id, owner, wallet, 0, block.timestamp));
        vm.prank(owner);
        ids.register("m", 2, wallet, 0, block.timestamp, abi.encodePacked(r, s, v));
        usdt.mint(owner, 1000e6);
        vm.prank(owner);
        usdt.approve(address(stake), type(uint256).max);
    }

    function _bond(uint96 amount) internal {
        vm.prank(owner);
        stake.bond(id, amount);
    }

    function test_constructor_setsConfig() public view {
        assertEq(stake.token(), address(usdt));
        assertEq(stake.identityRegistry(), address(ids));
        assertEq(stake.unbondDelay(), DELAY);
        assertEq(stake.owner(), admin);
    }

    function test_bond_pullsTokensAndEmits() public {
        vm.expectEmit(address(stake));
        emit IStakeRegistry.Bonded(id, owner, 100e6, 100e6, 0);
        _bond(100e6);
        _bond(50e6);
        assertEq(stake.bondOf(id).amount, 150e6);
        assertEq(usdt.balanceOf(address(stake)), 150e6);
    }

    function test_isBonded_followsActiveAmount() public {
        assertFalse(stake.isBonded(id, 0));
        _bond(100e6);
        assertTrue(stake.isBonded(id, 100e6));
        assertFalse(stake.isBonded(id, 100e6 + 1));
        vm.prank(owner);
        stake.requestUnbond(id, 100e6);
        assertFalse(stake.isBonded(id, 0));
    }

    function test_bond_countsReceivedAmountWithFee() public {
        usdt.setParams(10, 1); // 0.1% fee, at most 1 token
        vm.expectEmit(address(stake));
        emit IStakeRegistry.Bonded(id, owner, 99.9e6, 99.9e6, 0);
        _bond(100e6);
        assertEq(stake.bondOf(id).amount, 99.9e6);
    }

    function test_bond_revertsWhenZero() public {
        vm.prank(owner);
        vm.expectRevert(IStakeRegistry.StakeRegistryZeroAmount.selector);
        stake.bond(id, 0);
    }

    function test_bond_revertsWhenNotIdentityOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(IStakeRegistry.StakeRegistryNotIdentityOwner.selector, id, address(this))
        );
        stake.bond(id, 1);
    }

    function test_bond_revertsWhenIdentityNotActive() public {
        vm.prank(admin);
        ids.suspend(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.StakeRegistryIdentityNotActive.selector, id, 2));
        stake.bond(id, 1);
    }

    function test_bond_revertsWhenOverflow() public {
        usdt.mint(owner, uint256(type(uint96).max));
        _bond(type(uint96).max - 1);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeRegistry.StakeRegistryAmountOverflow.selector, uint256(type(uint96).max) + 1
            )
        );
        stake.bond(id, 2);
    }

    function test_requestUnbond_movesToUnbonding() public {
        _bond(100e6);
        vm.expectEmit(address(stake));
        emit IStakeRegistry.UnbondRequested(id, 40e6, 60e6, 40e6, uint64(block.timestamp) + DELAY);
        vm.prank(owner);
        stake.requestUnbond(id, 40e6);
        IStakeRegistry.Bond memory b = stake.bondOf(id);
        assertEq(b.amount, 60e6);
        assertEq(b.unbonding, 40e6);
        assertEq(b.unlockAt, block.timestamp + DELAY);
    }

    function test_requestUnbond_revertsWhenInsufficient() public {
        _bond(10e6);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeRegistry.StakeRegistryInsufficientBond.selector, id, 11e6, 10e6)
        );
        stake.requestUnbond(id, 11e6);
    }

    function test_requestUnbond_revertsWhenZeroOrStranger() public {
        _bond(10e6);
        vm.prank(owner);
        vm.expectRevert(IStakeRegistry.StakeRegistryZeroAmount.selector);
        stake.requestUnbond(id, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeRegistry.StakeRegistryNotIdentityOwner.selector, id, address(this))
        );
        stake.requestUnbond(id, 1);
    }

    function test_withdraw_afterDelay() public {
        _bond(100e6);
        vm.prank(owner);
        stake.requestUnbond(id, 40e6);
        vm.warp(block.timestamp + DELAY);
        vm.expectEmit(address(stake));
        emit IStakeRegistry.Withdrawn(id, owner, 40e6, 60e6, 0);
        vm.prank(owner);
        stake.withdraw(id);
        assertEq(usdt.balanceOf(owner), 940e6);
        assertEq(stake.bondOf(id).unbonding, 0);
    }

    function test_withdraw_revertsWhenLocked() public {
        _bond(100e6);
        vm.prank(owner);
        stake.requestUnbond(id, 40e6);
        vm.warp(block.timestamp + DELAY - 1);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeRegistry.StakeRegistryUnbondingLocked.selector,
                id,
                uint64(block.timestamp + 1),
                block.timestamp
            )
        );
        stake.withdraw(id);
    }

    function test_withdraw_revertsWhenNothingPending() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStakeRegistry.StakeRegistryNothingToWithdraw.selector, id));
        stake.withdraw(id);
    }

    function test_withdraw_revertsWhenStranger() public {
        vm.expectRevert(
            abi.encodeWithSelector(IStakeRegistry.StakeRegistryNotIdentityOwner.selector, id, address(this))
        );
        stake.withdraw(id);
    }

    function test_slash_takesActiveThenUnbonding() public {
        _bond(100e6);
        vm.prank(owner);
        stake.requestUnbond(id, 30e6);
        vm.expectEmit(address(stake));
        emit IStakeRegistry.Slashed(id, treasury, 80e6, 0, 20e6);
        vm.prank(admin);
        stake.slash(id, 80e6, treasury);
        assertEq(usdt.balanceOf(treasury), 80e6);
        IStakeRegistry.Bond memory b = stake.bondOf(id);
        assertEq(b.amount, 0);
        assertEq(b.unbonding, 20e6);
    }

    function test_slash_revertsWhenNotAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        stake.slash(id, 1, treasury);
    }

    function test_slash_revertsWhenInvalid() public {
        _bond(10e6);
        vm.startPrank(admin);
        vm.expectRevert(IStakeRegistry.StakeRegistryZeroAmount.selector);
        stake.slash(id, 0, treasury);
        vm.expectRevert(IStakeRegistry.StakeRegistryZeroRecipient.selector);
        stake.slash(id, 1, address(0));
        vm.expectRevert(
            abi.encodeWithSelector(IStakeRegistry.StakeRegistryInsufficientBond.selector, id, 11e6, 10e6)
        );
        stake.slash(id, 11e6, treasury);
    }
}
