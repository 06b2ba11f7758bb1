// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

contract TestUSDTTest is Test {
    TestUSDT internal usdt;
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function setUp() public {
        usdt = new TestUSDT("Tether USD", "USDT", 6);
        usdt.mint(alice, 1000e6);
    }

    function test_decimals_setAtDeploy() public {
        assertEq(usdt.decimals(), 6);
        TestUSDT eighteen = new TestUSDT("Eighteen", "E18", 18);
        assertEq(eighteen.decimals(), 18);
    }

    function test_transfer_returnsNothing() public {
        vm.prank(alice);
        (bool ok, bytes memory ret) =
            address(usdt).call(abi.encodeWithSignature("transfer(address,uint256)", bob, 1e6));
        assertTrue(ok);
        assertEq(ret.length, 0, "transfer must return no data");
        assertEq(usdt.balanceOf(bob), 1e6);
        assertEq(usdt.balanceOf(alice), 999e6);
    }

    function test_transferFrom_returnsNothing_andSpendsAllowance() public {
        vm.prank(alice);
        usdt.approve(bob, 10e6);
        vm.prank(bob);
        (bool ok, bytes memory ret) = address(usdt)
            .call(abi.encodeWithSignature("transferFrom(address,address,uint256)", alice, carol, 4e6));
        assertTrue(ok);
        assertEq(ret.length, 0, "transferFrom must return no data");
        assertEq(usdt.balanceOf(carol), 4e6);
        assertEq(usdt.allowance(alice, bob), 6e6);
    }

    function test_approve_returnsNothing() public {
        vm.prank(alice);
        (bool ok, bytes memory ret) =
            address(usdt).call(abi.encodeWithSignature("approve(address,uint256)", bob, 1));
        assertTrue(ok);
        assertEq(ret.length, 0, "approve must return no data");
    }

    function test_approve_nonZeroToNonZero_reverts() public {
        vm.startPrank(alice);
        usdt.approve(bob, 5e6);
        vm.expectRevert(bytes(""));
        usdt.approve(bob, 6e6);
        usdt.approve(bob, 0);
        usdt.approve(bob, 6e6);
        vm.stopPrank();
        assertEq(usdt.allowance(alice, bob), 6e6);
    }

    function test_transferFrom_maxAllowance_isNeverDecreased() public {
        vm.prank(alice);
        usdt.approve(bob, type(uint256).max);
        vm.prank(bob);
        usdt.transferFrom(alice, carol, 7e6);
        assertEq(usdt.allowance(alice, bob), type(uint256).max);
    }

    function test_transferFrom_aboveAllowance_reverts() public {
        vm.prank(alice);
        usdt.approve(bob, 1e6);
        vm.prank(bob);
        vm.expectRevert(bytes(""));
        usdt.transferFrom(alice, carol, 1e6 + 1);
    }

    function test_transfer_aboveBalance_reverts() public {
        vm.prank(alice);
        vm.expectRevert(bytes(""));
        usdt.transfer(bob, 1000e6 + 1);
    }

    function test_blocklist_blocksSender() public {
        usdt.addBlackList(alice);
        assertTrue(usdt.isBlackListed(alice));
        vm.prank(alice);
        vm.expectRevert(bytes(""));
        usdt.transfer(bob, 1e6);
        usdt.removeBlackList(alice);
        vm.prank(alice);
        usdt.transfer(bob, 1e6);
        assertEq(usdt.balanceOf(bob), 1e6);
    }

    function test_blocklist_blocksTransferFromOfBlockedHolder() public {
        vm.prank(alice);
        usdt.approve(bob, 10e6);
        usdt.addBlackList(alice);
        vm.prank(bob);
        vm.expectRevert(bytes(""));
        usdt.transferFrom(alice, carol, 1e6);
    }

    function test_blocklist_recipientStillReceives_likeMainnet() public {
        usdt.addBlackList(bob);
        vm.prank(alice);
        usdt.transfer(bob, 1e6);
        assertEq(usdt.balanceOf(bob), 1e6);
    }

    function test_destroyBlackFunds_burnsBlockedBalance() public {
        usdt.addBlackList(alice);
        usdt.destroyBlackFunds(alice);
        assertEq(usdt.balanceOf(alice), 0);
        assertEq(usdt.totalSupply(), 0);
    }

    function test_ownerPowers_onlyOwner() public {
        vm.startPrank(alice);
        vm.expectRevert(bytes(""));
        usdt.addBlackList(bob);
        vm.expectRevert(bytes(""));
        usdt.pause();
        vm.expectRevert(bytes(""));
        usdt.setParams(1, 1);
        vm.expectRevert(bytes(""));
        usdt.mint(alice, 1);
        vm.stopPrank();
    }

    function test_pause_blocksTransfers() public {
        vm.prank(alice);
        usdt.approve(bob, 10e6);
        usdt.pause();
        vm.prank(alice);
        vm.expectRevert(bytes(""));
        usdt.transfer(bob, 1e6);
        vm.prank(bob);
        vm.expectRevert(bytes(""));
        usdt.transferFrom(alice, bob, 1e6);
        usdt.unpause();
        vm.prank(alice);
        usdt.transfer(bob, 1e6);
        assertEq(usdt.balanceOf(bob), 1e6);
    }

    function test_feeOnTransfer_recipientGetsLess() public {
        usdt.setParams(10, 5); // 0.10 %, capped at 5 USDT
        vm.prank(alice);
        usdt.transfer(bob, 100e6);
        assertEq(usdt.balanceOf(bob), 100e6 - 0.1e6);
        assertEq(usdt.balanceOf(address(this)), 0.1e6, "owner collects the fee");
        vm.prank(alice);
        usdt.transfer(bob, 800e6); // 0.8 USDT fee, under the cap
        assertEq(usdt.balanceOf(bob), 100e6 - 0.1e6 + 800e6 - 0.8e6);
    }

    function test_feeOnTransfer_capped() public {
        usdt.mint(alice, 10_000e6);
        usdt.setParams(19, 1); // cap at 1 USDT
        vm.prank(alice);
        usdt.transfer(bob, 10_000e6);
        assertEq(usdt.balanceOf(bob), 10_000e6 - 1e6);
    }

    function test_setParams_boundedLikeMainnet() public {
        vm.expectRevert(bytes(""));
        usdt.setParams(20, 1);
        vm.expectRevert(bytes(""));
        usdt.setParams(1, 50);
    }

    function testFuzz_transfer_conservesSupply(uint256 amount, uint8 bps) public {
        amount = bound(amount, 0, 1000e6);
        bps = uint8(bound(bps, 0, 19));
        usdt.setParams(bps, 49);
        vm.prank(alice);
        usdt.transfer(bob, amount);
        assertEq(
            usdt.balanceOf(alice) + usdt.balanceOf(bob) + usdt.balanceOf(address(this)), usdt.totalSupply()
        );
    }

    function test_transfer_conservesSupply_pinned() public {
        testFuzz_transfer_conservesSupply(123_456_789, 7);
    }
}
