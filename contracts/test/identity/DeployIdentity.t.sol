// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {DeployIdentity} from "script/DeployIdentity.s.sol";
import {IdentityLite} from "src/identity/IdentityLite.sol";
import {StakeRegistry} from "src/identity/StakeRegistry.sol";

/// @notice Runs the deploy script in process on a throwaway chain id and checks the merged deployment file.
contract DeployIdentityTest is Test {
    uint256 internal constant CHAIN = 987_654_321;
    string internal path;

    function setUp() public {
        vm.chainId(CHAIN);
        path = string.concat(vm.projectRoot(), "/deployments/", vm.toString(CHAIN), ".json");
        if (vm.isFile(path)) vm.removeFile(path);
    }

    function test_run_mergesIntoExistingEscrowFile() public {
        if (!vm.isDir(string.concat(vm.projectRoot(), "/deployments"))) {
            vm.createDir(string.concat(vm.projectRoot(), "/deployments"), true);
        }
        vm.writeFile(
            path,
            '{"chainId":987654321,"escrow":"0x1111111111111111111111111111111111111111","token":"0x2222222222222222222222222222222222222222","deployBlock":3}'
        );
        vm.setEnv("IDENTITY_MODE", "both");
        vm.setEnv("LITE_THRESHOLD", "4");
        DeployIdentity script = new DeployIdentity();
        (DeployIdentity.Home memory home, DeployIdentity.Satellite memory sat) = script.run();
        string memory json = vm.readFile(path);
        vm.removeFile(path);

        // escrow keys kept
        assertEq(vm.parseJsonAddress(json, ".escrow"), address(0x1111111111111111111111111111111111111111));
        assertEq(vm.parseJsonUint(json, ".deployBlock"), 3);
        assertEq(vm.parseJsonUint(json, ".chainId"), CHAIN);
        // identity keys added
        assertEq(vm.parseJsonAddress(json, ".identityRegistry"), home.identityRegistry);
        assertEq(vm.parseJsonAddress(json, ".didRegistry"), home.didRegistry);
        assertEq(vm.parseJsonAddress(json, ".stakeRegistry"), home.stakeRegistry);
        assertEq(
            vm.parseJsonAddress(json, ".stakeToken"), address(0x2222222222222222222222222222222222222222)
        );
        assertEq(vm.parseJsonAddress(json, ".identityLite"), sat.identityLite);
        assertEq(vm.parseJsonAddress(json, ".didLite"), sat.didLite);
        assertEq(vm.parseJsonAddress(json, ".stakingLite"), sat.stakingLite);
        assertEq(vm.parseJsonUint(json, ".threshold"), 4);
        assertEq(vm.parseJsonUint(json, ".homeChainId"), CHAIN);
        assertEq(vm.parseJsonUint(json, ".identityDeployBlock"), block.number);
        address[] memory signers = vm.parseJsonAddressArray(json, ".signers");
        assertEq(signers, script.defaultSigners());
        assertEq(signers[0], 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65); // anvil mnemonic index 4
        assertEq(signers[5], 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720); // index 9
        // deployed as configured
        assertEq(IdentityLite(sat.identityLite).threshold(), 4);
        assertEq(IdentityLite(sat.identityLite).homeChainId(), CHAIN);
        assertEq(StakeRegistry(home.stakeRegistry).unbondDelay(), 7 days);
    }
}
