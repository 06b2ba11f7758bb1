// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";
import {VmSafe} from "forge-std/Vm.sol";

import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";

/// @notice Deploys PactEscrow (and, on local chains, a TestUSDT with balances for anvil's accounts) and writes
///         `deployments/<chainId>.json` for the indexer and the API.
/// @dev One command against anvil:
///        forge script script/DeployEscrow.s.sol --rpc-url http://127.0.0.1:8545 --broadcast --private-key <key>
///      Environment (all optional except TOKEN on non-local chains):
///        DEPLOY_TEST_TOKEN  deploy TestUSDT (default: true on chain 31337, false elsewhere)
///        TOKEN              existing token address (required when no test token is deployed)
///        TOKEN_DECIMALS     TestUSDT decimals (default 6)
///        ESCROW_OWNER, ARBITER, TREASURY   (default: the broadcasting account)
///        MAX_FEE_BPS (1000), FEE_BPS (100), REVIEW_WINDOW (259200 = 72 h), ARBITER_WINDOW (604800 = 7 d),
///        DEFAULT_SELLER_BPS (5000)
///        MINT_AMOUNT        whole tokens minted to each of anvil's 10 default accounts (default 1 000 000)
///      JSON keys: chainId, escrow, token, tokenDecimals, deployBlock (a block at or before the deployment
///      transaction: a safe indexer start), testToken, owner, arbiter, treasury, maxFeeBps, feeBps,
///      reviewWindow, arbiterWindow, defaultSellerBps, offerTypehash, domainSeparator.
contract DeployEscrow is Script {
    string internal constant ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

    struct Deployment {
        address token;
        uint8 decimals;
        bool testToken;
        PactEscrow escrow;
        address owner;
        address arbiter;
        address treasury;
        uint16 maxFeeBps;
        IPactEscrow.Config config;
        uint256 deployBlock;
    }

    function run() external returns (Deployment memory d) {
        bool local = block.chainid == 31_337;
        d.testToken = vm.envOr("DEPLOY_TEST_TOKEN", local);
        d.maxFeeBps = uint16(vm.envOr("MAX_FEE_BPS", uint256(1000)));
        d.config = IPactEscrow.Config({
            feeBps: uint16(vm.envOr("FEE_BPS", uint256(100))),
            reviewWindow: uint32(vm.envOr("REVIEW_WINDOW", uint256(72 hours))),
            arbiterWindow: uint32(vm.envOr("ARBITER_WINDOW", uint256(7 days))),
            defaultSellerBps: uint16(vm.envOr("DEFAULT_SELLER_BPS", uint256(5000)))
        });
        d.deployBlock = block.number;

        vm.startBroadcast();
        (, address deployer,) = vm.readCallers();
        d.owner = vm.envOr("ESCROW_OWNER", deployer);
        d.arbiter = vm.envOr("ARBITER", deployer);
        d.treasury = vm.envOr("TREASURY", deployer);

        if (d.testToken) {
            uint8 decimals = uint8(vm.envOr("TOKEN_DECIMALS", uint256(6)));
            TestUSDT usdt = new TestUSDT("Tether USD", "USDT", decimals);
            d.token = address(usdt);
            uint256 mintEach = vm.envOr("MINT_AMOUNT", uint256(1_000_000)) * 10 ** decimals;
            if (local) {
                for (uint32 i; i < 10; ++i) {
                    usdt.mint(vm.addr(vm.deriveKey(ANVIL_MNEMONIC, i)), mintEach);
                }
            } else {
                usdt.mint(deployer, mintEach);
            }
        } else {
            d.token = vm.envAddress("TOKEN");
        }

        d.escrow = new PactEscrow(d.token, d.owner, d.arbiter, d.treasury, d.maxFeeBps, d.config);
        vm.stopBroadcast();

        d.decimals = d.escrow.tokenDecimals();
        _write(d);
    }

    function _write(Deployment memory d) internal {
        string memory k = "deployment";
        vm.serializeUint(k, "chainId", block.chainid);
        vm.serializeAddress(k, "escrow", address(d.escrow));
        vm.serializeAddress(k, "token", d.token);
        vm.serializeUint(k, "tokenDecimals", d.decimals);
        vm.serializeUint(k, "deployBlock", d.deployBlock);
        vm.serializeBool(k, "testToken", d.testToken);
        vm.serializeAddress(k, "owner", d.owner);
        vm.serializeAddress(k, "arbiter", d.arbiter);
        vm.serializeAddress(k, "treasury", d.treasury);
        vm.serializeUint(k, "maxFeeBps", d.maxFeeBps);
        vm.serializeUint(k, "feeBps", d.config.feeBps);
        vm.serializeUint(k, "reviewWindow", d.config.reviewWindow);
        vm.serializeUint(k, "arbiterWindow", d.config.arbiterWindow);
        vm.serializeUint(k, "defaultSellerBps", d.config.defaultSellerBps);
        vm.serializeBytes32(k, "offerTypehash", d.escrow.OFFER_TYPEHASH());
        string memory json = vm.serializeBytes32(k, "domainSeparator", d.escrow.DOMAIN_SEPARATOR());
        if (!vm.isDir("deployments")) vm.createDir("deployments", true);
        vm.writeJson(json, string.concat("deployments/", vm.toString(block.chainid), ".json"));
    }
}
