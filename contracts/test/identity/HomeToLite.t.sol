// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {DIDLite} from "src/identity/DIDLite.sol";
import {DIDRegistry} from "src/identity/DIDRegistry.sol";
import {IdentityLite} from "src/identity/IdentityLite.sol";
import {IdentityRegistry} from "src/identity/IdentityRegistry.sol";
import {StakeRegistry} from "src/identity/StakeRegistry.sol";
import {StakingLite} from "src/identity/StakingLite.sol";
import {IDIDLite} from "src/interfaces/identity/IDIDLite.sol";
import {IDIDRegistry} from "src/interfaces/identity/IDIDRegistry.sol";
import {IIdentityLite} from "src/interfaces/identity/IIdentityLite.sol";
import {IIdentityRegistry} from "src/interfaces/identity/IIdentityRegistry.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {IStakeRegistry} from "src/interfaces/identity/IStakeRegistry.sol";
import {IStakingLite} from "src/interfaces/identity/IStakingLite.sol";
import {TestUSDT} from "src/test/TestUSDT.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

/// @notice End to end: home-chain actions -> their events alone -> packed updates (what the Rust daemon does)
///         -> signed batches -> Lites; the Lites then agree with the home registries.
contract HomeToLiteTest is LiteTestBase {
    IdentityRegistry internal ids;
    DIDRegistry internal dids;
    StakeRegistry internal stake;
    TestUSDT internal usdt;
    IdentityLite internal idLite;
    DIDLite internal didLite;
    StakingLite internal stakeLite;

    address internal admin = makeAddr("admin");
    address internal owner = makeAddr("owner");
    bytes32 internal constant ATTR = "did/svc/MessagingService";

    // daemon-side fold of identity events (the update needs the full record)
    mapping(bytes32 id => IIdentityLite.IdentityRecord) internal folded;

    function setUp() public {
        _initSigners();
        vm.warp(1_800_000_000);
        vm.roll(500);
        usdt = new TestUSDT("Tether USD", "USDT", 6);
        ids = new IdentityRegistry(admin);
        dids = new DIDRegistry();
        stake = new StakeRegistry(address(usdt), address(ids), 1 days, admin);
        idLite = new IdentityLite(block.chainid, signerAddrs, THRESHOLD);
        didLite = new DIDLite(block.chainid, signerAddrs, THRESHOLD);
        stakeLite = new StakingLite(block.chainid, signerAddrs, THRESHOLD);
        usdt.mint(owner, 1000e6);
        vm.prank(owner);
        usdt.approve(address(stake), type(uint256).max);
    }

    function _register(bytes32 salt, string memory walletName, uint8 entityType)
        internal
        returns (bytes32 id)
    {
        (address wallet, uint256 key) = makeAddrAndKey(walletName);
        id = ids.computeId(owner, salt);
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, ids.walletBindingDigest(id, owner, wallet, ids.nonces(wallet), block.timestamp));
        vm.prank(owner);
        ids.register(salt, entityType, wallet, "meta", block.timestamp, abi.encodePacked(r, s, v));
    }

    function _act() internal returns (bytes32 a, bytes32 b, address w2) {
        a = _register("a", "wallet-a", 1);
        b = _register("b", "wallet-b", 2);
        uint256 k2;
        (w2, k2) = makeAddrAndKey("wallet-a2");
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(k2, ids.walletBindingDigest(a, owner, w2, 0, block.timestamp));
        vm.startPrank(owner);
        ids.setWallet(a, w2, block.timestamp, abi.encodePacked(r, s, v));
        ids.setMetadata(a, "meta2");
        stake.bond(a, 100e6);
        stake.requestUnbond(a, 30e6);
        dids.setAttribute(ATTR, "https://a.example", 1 days);
        dids.setAttribute("long", bytes("a value longer than thirty-two bytes goes to the event"), 2 days);
        dids.setAttribute("gone", "x", 1 days);
        dids.removeAttribute("gone");
        vm.stopPrank();
        vm.startPrank(admin);
        ids.suspend(b);
        stake.slash(a, 80e6, admin);
        vm.stopPrank();
        vm.prank(owner);
        stake.bond(a, 5e6);
    }

    function _relay() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (bytes memory pId, uint32 nId, bytes memory pDid, uint32 nDid, bytes memory pStake, uint32 nStake) =
            _pack(logs);
        uint64 toCursor = _cursor(block.number, 0xffffffff);
        _submit(idLite, "Pact IdentityLite", pId, nId, toCursor);
        _submit(didLite, "Pact DIDLite", pDid, nDid, toCursor);
        _submit(stakeLite, "Pact StakingLite", pStake, nStake, toCursor);
        assertEq(nId, 4, "identity updates");
        assertEq(nDid, 4, "did updates");
        assertEq(nStake, 4, "stake updates");
    }

    function test_applyBatch_rebuildsHomeStateFromEvents() public {
        vm.recordLogs();
        (bytes32 a, bytes32 b, address w2) = _act();
        _relay();

        bytes32[2] memory both = [a, b];
        for (uint256 i; i < 2; ++i) {
            IIdentityRegistry.Identity memory home = ids.identityOf(both[i]);
            IIdentityLite.IdentityRecord memory lite = idLite.identity(both[i]);
            assertEq(lite.owner, home.owner);
            assertEq(lite.wallet, home.wallet);
            assertEq(lite.entityType, home.entityType);
            assertEq(lite.status, home.status);
        }
        assertTrue(idLite.isActive(a, w2, 0));
        assertFalse(idLite.isActive(b, ids.identityOf(b).wallet, 0));

        IStakeRegistry.Bond memory hb = stake.bondOf(a);
        IStakingLite.BondRecord memory lb = stakeLite.bondOf(a);
        assertEq(lb.amount, hb.amount);
        assertEq(lb.unbonding, hb.unbonding);
        assertEq(hb.amount, 5e6);
        assertEq(hb.unbonding, 20e6);
        assertTrue(stakeLite.isBonded(a, 5e6, 0));
        assertFalse(stakeLite.isBonded(a, 5e6 + 1, 0));

        _assertAttribute(owner, ATTR);
        _assertAttribute(owner, "long");
        vm.expectRevert(
            abi.encodeWithSelector(IDIDRegistry.DIDRegistryAttributeRemoved.selector, owner, bytes32("gone"))
        );
        dids.attribute(owner, "gone");
        uint64 removedAt = didLite.attributeState(owner, "gone").cursor;
        vm.expectRevert(
            abi.encodeWithSelector(
                IDIDLite.DIDLiteAttributeRemoved.selector, owner, bytes32("gone"), removedAt
            )
        );
        didLite.attribute(owner, "gone");
    }

    function _assertAttribute(address did, bytes32 name) internal view {
        IDIDRegistry.Attribute memory h = dids.attribute(did, name);
        IDIDLite.AttributeRecord memory l = didLite.attribute(did, name);
        assertEq(l.value, h.value);
        assertEq(l.validTo, h.validTo);
        assertEq(l.valueInfo, h.valueInfo);
    }

    function _submit(ILiteBase lite, string memory name, bytes memory packed, uint32 n, uint64 toCursor)
        internal
    {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, n, toCursor, uint64(block.timestamp));
        h.sourceChainId = block.chainid;
        lite.applyBatch(h, packed, _sign(name, lite, h, _quorum()));
    }

    function _pack(Vm.Log[] memory logs)
        internal
        returns (
            bytes memory pId,
            uint32 nId,
            bytes memory pDid,
            uint32 nDid,
            bytes memory pStake,
            uint32 nStake
        )
    {
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            uint64 c = _cursor(block.number, i);
            bytes32 sig = log.topics[0];
            if (log.emitter == address(ids)) {
                bytes32 id = log.topics[1];
                IIdentityLite.IdentityRecord storage f = folded[id];
                if (sig == IIdentityRegistry.IdentityRegistered.selector) {
                    (uint8 entityType,) = abi.decode(log.data, (uint8, bytes32));
                    f.owner = address(uint160(uint256(log.topics[2])));
                    f.wallet = address(uint160(uint256(log.topics[3])));
                    f.entityType = entityType;
                    f.status = 1;
                } else if (sig == IIdentityRegistry.IdentityWalletChanged.selector) {
                    f.wallet = address(uint160(uint256(log.topics[3])));
                } else if (sig == IIdentityRegistry.IdentitySuspended.selector) {
                    f.status = 2;
                } else if (sig == IIdentityRegistry.IdentityReinstated.selector) {
                    f.status = 1;
                } else if (sig == IIdentityRegistry.IdentityRevoked.selector) {
                    f.status = 3;
                } else {
                    continue; // metadata and ownership events are not mirrored
                }
                pId = bytes.concat(pId, _identityUpdate(c, id, f.owner, f.wallet, f.entityType, f.status));
                ++nId;
            } else if (log.emitter == address(dids)) {
                address did = address(uint160(uint256(log.topics[1])));
                bytes32 name = log.topics[2];
                if (sig == IDIDRegistry.DIDAttributeSet.selector) {
                    (bytes32 stored, uint8 valueInfo, uint64 validTo,) =
                        abi.decode(log.data, (bytes32, uint8, uint64, bytes));
                    pDid = bytes.concat(pDid, _setAttributeUpdate(c, did, name, stored, validTo, valueInfo));
                } else {
                    pDid = bytes.concat(pDid, _removeAttributeUpdate(c, did, name));
                }
                ++nDid;
            } else if (log.emitter == address(stake)) {
                bytes32 id = log.topics[1];
                uint96 amount;
                uint96 unbonding;
                if (sig == IStakeRegistry.UnbondRequested.selector) {
                    (, amount, unbonding,) = abi.decode(log.data, (uint96, uint96, uint96, uint64));
                } else if (
                    sig == IStakeRegistry.Bonded.selector || sig == IStakeRegistry.Withdrawn.selector
                        || sig == IStakeRegistry.Slashed.selector
                ) {
                    (, amount, unbonding) = abi.decode(log.data, (uint96, uint96, uint96));
                } else {
                    continue;
                }
                pStake = bytes.concat(pStake, _bondUpdate(c, id, amount, unbonding));
                ++nStake;
            }
        }
    }
}
