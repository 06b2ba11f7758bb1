// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";

import {DeployEscrow} from "script/DeployEscrow.s.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

/// @notice The deploy script deploys token and escrow with the env settings and writes the deployment record.
contract DeployEscrowTest is Test {
    function test_run_testToken_writesDeploymentJson() public {
        // A chain id of its own so a real local record (deployments/31337.json) is never overwritten.
        vm.chainId(424_242);
        vm.setEnv("DEPLOY_TEST_TOKEN", "true");
        vm.setEnv("FEE_BPS", "250");
        vm.setEnv("TOKEN_DECIMALS", "18");
        DeployEscrow script = new DeployEscrow();
        DeployEscrow.Deployment memory d = script.run();
        vm.setEnv("DEPLOY_TEST_TOKEN", "");
        vm.setEnv("FEE_BPS", "");
        vm.setEnv("TOKEN_DECIMALS", "");

        string memory path = "deployments/424242.json";
        string memory json = vm.readFile(path);
        vm.removeFile(path);
        assertEq(vm.parseJsonUint(json, ".chainId"), 424_242);
        assertEq(vm.parseJsonAddress(json, ".escrow"), address(d.escrow));
        assertEq(vm.parseJsonAddress(json, ".token"), d.token);
        assertEq(vm.parseJsonUint(json, ".tokenDecimals"), 18);
        assertEq(vm.parseJsonUint(json, ".deployBlock"), block.number);
        assertEq(vm.parseJsonUint(json, ".feeBps"), 250);
        assertEq(vm.parseJsonUint(json, ".reviewWindow"), 72 hours);
        assertEq(vm.parseJsonBytes32(json, ".offerTypehash"), d.escrow.OFFER_TYPEHASH());
        assertEq(d.escrow.token(), d.token);
        assertEq(d.escrow.config(0).feeBps, 250);
        assertEq(TestUSDT(d.token).balanceOf(d.owner), 1_000_000e18);
    }
}
