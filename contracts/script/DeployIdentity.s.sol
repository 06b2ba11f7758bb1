// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";
import {console2} from "forge-std/console2.sol";
import {DIDLite} from "src/identity/DIDLite.sol";
import {DIDRegistry} from "src/identity/DIDRegistry.sol";
import {IdentityLite} from "src/identity/IdentityLite.sol";
import {IdentityRegistry} from "src/identity/IdentityRegistry.sol";
import {StakeRegistry} from "src/identity/StakeRegistry.sol";
import {StakingLite} from "src/identity/StakingLite.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

/// @title DeployIdentity
/// @notice Deploys the identity contracts and merges their addresses into `deployments/<chainId>.json`.
///
/// Environment (all optional):
/// - `HOME_CHAIN_ID`: chain id of the home chain (default: this chain).
/// - `IDENTITY_MODE`: `home` (the three registries), `satellite` (the three Lites) or `both`; default `home` when
///   this chain is the home chain, else `satellite`.
/// - `IDENTITY_ADMIN`: registry admin (default: the broadcaster).
/// - `STAKE_TOKEN`: bond token; default the file's `token` key (the escrow deploy's token) if present, else a
///   fresh TestUSDT (6 decimals).
/// - `UNBOND_DELAY`: seconds (default 7 days).
/// - `LITE_SIGNERS`: comma-separated signer addresses (default: the anvil test mnemonic, indices 4..9).
/// - `LITE_THRESHOLD`: default 4.
///
/// Keys written (existing keys such as `chainId`, `escrow`, `token`, `deployBlock` are kept): `identityRegistry`,
/// `didRegistry`, `stakeRegistry`, `stakeToken`, `unbondDelay` (home); `identityLite`, `didLite`, `stakingLite`,
/// `homeChainId`, `signers`, `threshold` (satellite); `identityDeployBlock` (both).
contract DeployIdentity is Script {
    string internal constant TEST_MNEMONIC = "test test test test test test test test test test test junk";

    struct Home {
        address identityRegistry;
        address didRegistry;
        address stakeRegistry;
        address stakeToken;
        uint64 unbondDelay;
    }

    struct Satellite {
        address identityLite;
        address didLite;
        address stakingLite;
        address[] signers;
        uint8 threshold;
    }

    function defaultSigners() public pure returns (address[] memory s) {
        s = new address[](6);
        for (uint32 i; i < 6; ++i) {
            s[i] = vm.addr(vm.deriveKey(TEST_MNEMONIC, i + 4));
        }
    }

    function run() external returns (Home memory home, Satellite memory sat) {
        uint256 homeChainId = vm.envOr("HOME_CHAIN_ID", block.chainid);
        string memory mode =
            vm.envOr("IDENTITY_MODE", block.chainid == homeChainId ? string("home") : "satellite");
        bool doHome = _eq(mode, "home") || _eq(mode, "both");
        bool doSatellite = _eq(mode, "satellite") || _eq(mode, "both");
        require(doHome || doSatellite, "IDENTITY_MODE must be home, satellite or both");

        string memory dir = string.concat(vm.projectRoot(), "/deployments");
        string memory path = string.concat(dir, "/", vm.toString(block.chainid), ".json");
        bool exists = vm.isFile(path);
        string memory existing = exists ? vm.readFile(path) : "{}";
        uint256 deployBlock = block.number;

        vm.startBroadcast();
        if (doHome) home = _deployHome(existing, exists);
        if (doSatellite) sat = _deploySatellite(homeChainId);
        vm.stopBroadcast();

        // merge: start from the existing object, then set our keys
        string memory obj = "identity";
        vm.serializeJson(obj, existing);
        string memory out = vm.serializeUint(obj, "identityDeployBlock", deployBlock);
        if (doHome) {
            vm.serializeAddress(obj, "identityRegistry", home.identityRegistry);
            vm.serializeAddress(obj, "didRegistry", home.didRegistry);
            vm.serializeAddress(obj, "stakeRegistry", home.stakeRegistry);
            vm.serializeUint(obj, "unbondDelay", home.unbondDelay);
            out = vm.serializeAddress(obj, "stakeToken", home.stakeToken);
        }
        if (doSatellite) {
            vm.serializeAddress(obj, "identityLite", sat.identityLite);
            vm.serializeAddress(obj, "didLite", sat.didLite);
            vm.serializeAddress(obj, "stakingLite", sat.stakingLite);
            vm.serializeUint(obj, "homeChainId", homeChainId);
            vm.serializeUint(obj, "threshold", sat.threshold);
            out = vm.serializeAddress(obj, "signers", sat.signers);
        }
        if (!vm.isDir(dir)) vm.createDir(dir, true);
        vm.writeJson(out, path);
        console2.log("identity deployment written to", path);
    }

    function _deployHome(string memory existing, bool exists) internal returns (Home memory h) {
        address admin = vm.envOr("IDENTITY_ADMIN", msg.sender);
        h.unbondDelay = uint64(vm.envOr("UNBOND_DELAY", uint256(7 days)));
        h.stakeToken = vm.envOr("STAKE_TOKEN", address(0));
        if (h.stakeToken == address(0) && exists && vm.keyExistsJson(existing, ".token")) {
            h.stakeToken = vm.parseJsonAddress(existing, ".token");
        }
        if (h.stakeToken == address(0)) h.stakeToken = address(new TestUSDT("Tether USD", "USDT", 6));
        IdentityRegistry ids = new IdentityRegistry(admin);
        h.identityRegistry = address(ids);
        h.didRegistry = address(new DIDRegistry());
        h.stakeRegistry = address(new StakeRegistry(h.stakeToken, address(ids), h.unbondDelay, admin));
    }

    function _deploySatellite(uint256 homeChainId) internal returns (Satellite memory s) {
        s.signers = vm.envOr("LITE_SIGNERS", ",", defaultSigners());
        s.threshold = uint8(vm.envOr("LITE_THRESHOLD", uint256(4)));
        s.identityLite = address(new IdentityLite(homeChainId, s.signers, s.threshold));
        s.didLite = address(new DIDLite(homeChainId, s.signers, s.threshold));
        s.stakingLite = address(new StakingLite(homeChainId, s.signers, s.threshold));
    }

    function _eq(string memory a, string memory b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }
}
