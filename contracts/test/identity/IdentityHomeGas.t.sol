// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {DIDRegistry} from "src/identity/DIDRegistry.sol";
import {IdentityRegistry} from "src/identity/IdentityRegistry.sol";
import {StakeRegistry} from "src/identity/StakeRegistry.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

/// @notice Named gas snapshots of the home-chain hot paths, in `snapshots/IdentityHome.json` (call-frame gas with
///         cold storage, no intrinsic or calldata gas).
contract IdentityHomeGasTest is Test {
    string internal constant GROUP = "IdentityHome";
    IdentityRegistry internal ids;
    DIDRegistry internal dids;
    StakeRegistry internal stake;
    TestUSDT internal usdt;
    address internal owner = makeAddr("owner");
    bytes32 internal id;

    function setUp() public {
        vm.warp(1_800_000_000);
        usdt = new TestUSDT("Tether USD", "USDT", 6);
        ids = new IdentityRegistry(address(this));
        dids = new DIDRegistry();
        stake = new StakeRegistry(address(usdt), address(ids), 1 days, address(this));
        id = _register("setup", "wallet-setup");
        usdt.mint(owner, 1000e6);
        vm.prank(owner);
        usdt.approve(address(stake), type(uint256).max);
    }

    function _register(bytes32 salt, string memory walletName) internal returns (bytes32 newId) {
        (address wallet, uint256 key) = makeAddrAndKey(walletName);
        newId = ids.computeId(owner, salt);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, ids.walletBindingDigest(newId, owner, wallet, 0, 2e9));
        bytes memory sig = abi.encodePacked(r, s, v);
        vm.cool(address(ids));
        vm.prank(owner);
        ids.register(salt, 1, wallet, "meta", 2e9, sig);
    }

    function test_register_gas() public {
        _register("gas", "wallet-gas");
        vm.snapshotGasLastCall(GROUP, "IdentityRegistry_register");
    }

    function test_suspend_gas() public {
        vm.cool(address(ids));
        ids.suspend(id);
        vm.snapshotGasLastCall(GROUP, "IdentityRegistry_suspend");
    }

    function test_setAttribute_gas() public {
        vm.prank(owner);
        dids.setAttribute("svc", "https://a.example", 1 days);
        vm.snapshotGasLastCall(GROUP, "DIDRegistry_setAttribute_inline_fresh");
        vm.cool(address(dids));
        vm.prank(owner);
        dids.setAttribute("svc", bytes("a value longer than thirty-two bytes is stored as its hash"), 1 days);
        vm.snapshotGasLastCall(GROUP, "DIDRegistry_setAttribute_hashed_overwrite");
    }

    function test_bond_gas() public {
        vm.cool(address(stake));
        vm.cool(address(usdt));
        vm.prank(owner);
        stake.bond(id, 100e6);
        vm.snapshotGasLastCall(GROUP, "StakeRegistry_bond_first");
    }
}
