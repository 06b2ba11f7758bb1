// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Test} from "forge-std/Test.sol";
import {IdentityRegistry} from "src/identity/IdentityRegistry.sol";
import {IIdentityRegistry} from "src/interfaces/identity/IIdentityRegistry.sol";

contract IdentityRegistryTest is Test {
    IdentityRegistry internal reg;
    address internal admin = makeAddr("admin");
    address internal owner = makeAddr("owner");
    address internal wallet;
    uint256 internal walletKey;
    bytes32 internal constant SALT = "agent-7";
    bytes32 internal constant META = keccak256("ipfs://meta");
    uint256 internal deadline;

    function setUp() public {
        reg = new IdentityRegistry(admin);
        (wallet, walletKey) = makeAddrAndKey("wallet");
        vm.warp(1_800_000_000);
        deadline = block.timestamp + 1 hours;
    }

    function _sig(uint256 key, bytes32 id, address o, address w, uint256 dl)
        internal
        view
        returns (bytes memory)
    {
        bytes32 digest = reg.walletBindingDigest(id, o, w, reg.nonces(w), dl);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _register() internal returns (bytes32 id) {
        id = reg.computeId(owner, SALT);
        bytes memory sig = _sig(walletKey, id, owner, wallet, deadline);
        vm.prank(owner);
        reg.register(SALT, 1, wallet, META, deadline, sig);
    }

    function test_walletBindingDigest_matchesTypeString() public view {
        assertEq(
            reg.WALLET_BINDING_TYPEHASH(),
            keccak256("WalletBinding(bytes32 id,address owner,address wallet,uint256 nonce,uint256 deadline)")
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("Pact IdentityRegistry"),
                keccak256("1"),
                block.chainid,
                address(reg)
            )
        );
        bytes32 structHash =
            keccak256(abi.encode(reg.WALLET_BINDING_TYPEHASH(), bytes32("x"), owner, wallet, 0, 5));
        assertEq(
            reg.walletBindingDigest("x", owner, wallet, 0, 5),
            keccak256(abi.encodePacked(hex"1901", domain, structHash))
        );
    }

    function test_register_storesIdentityAndEmits() public {
        bytes32 id = reg.computeId(owner, SALT);
        assertEq(id, keccak256(abi.encode(owner, SALT)));
        bytes memory sig = _sig(walletKey, id, owner, wallet, deadline);
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentityRegistered(id, owner, wallet, 1, META);
        vm.prank(owner);
        assertEq(reg.register(SALT, 1, wallet, META, deadline, sig), id);
        IIdentityRegistry.Identity memory r = reg.identityOf(id);
        assertEq(r.owner, owner);
        assertEq(r.wallet, wallet);
        assertEq(r.entityType, 1);
        assertEq(r.status, 1);
        assertEq(r.metadataHash, META);
        assertEq(reg.idOfWallet(wallet), id);
        assertEq(reg.nonces(wallet), 1);
    }

    function test_register_revertsWhenInvalidEntityType() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidEntityType.selector, 3)
        );
        reg.register(SALT, 3, wallet, META, deadline, "");
    }

    function test_register_revertsWhenIdExists() public {
        bytes32 id = _register();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryIdentityExists.selector, id));
        reg.register(SALT, 1, makeAddr("w2"), META, deadline, "");
    }

    function test_register_revertsWhenZeroWallet() public {
        vm.prank(owner);
        vm.expectRevert(IIdentityRegistry.IdentityRegistryZeroWallet.selector);
        reg.register(SALT, 1, address(0), META, deadline, "");
    }

    function test_register_revertsWhenWalletTaken() public {
        bytes32 id = _register();
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryWalletTaken.selector, wallet, id)
        );
        reg.register("other", 2, wallet, META, deadline, "");
    }

    function test_register_revertsWhenExpired() public {
        bytes32 id = reg.computeId(owner, SALT);
        uint256 dl = block.timestamp - 1;
        bytes memory sig = _sig(walletKey, id, owner, wallet, dl);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IIdentityRegistry.IdentityRegistrySignatureExpired.selector, dl, block.timestamp
            )
        );
        reg.register(SALT, 1, wallet, META, dl, sig);
    }

    function test_register_revertsWhenSignatureTampered() public {
        bytes32 id = reg.computeId(owner, SALT);
        bytes memory sig = _sig(walletKey, id, owner, wallet, deadline);
        bytes memory err =
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidWalletSignature.selector, wallet);
        // another owner replays the wallet's signature
        vm.prank(makeAddr("thief"));
        vm.expectRevert(err);
        reg.register(SALT, 1, wallet, META, deadline, sig);
        // another deadline
        vm.prank(owner);
        vm.expectRevert(err);
        reg.register(SALT, 1, wallet, META, deadline + 1, sig);
        // another signer
        (, uint256 otherKey) = makeAddrAndKey("other");
        bytes memory otherSig = _sig(otherKey, id, owner, wallet, deadline);
        vm.prank(owner);
        vm.expectRevert(err);
        reg.register(SALT, 1, wallet, META, deadline, otherSig);
    }

    function test_register_revertsWhenSignatureReplayed() public {
        bytes32 id = reg.computeId(owner, SALT);
        bytes memory sig = _sig(walletKey, id, owner, wallet, deadline);
        vm.prank(owner);
        reg.register(SALT, 1, wallet, META, deadline, sig);
        vm.prank(owner);
        reg.revoke(id);
        // the wallet is free again but its nonce moved on
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryIdentityExists.selector, id));
        reg.register(SALT, 1, wallet, META, deadline, sig);
        bytes32 salt2 = "again";
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidWalletSignature.selector, wallet)
        );
        reg.register(salt2, 1, wallet, META, deadline, sig);
    }

    function test_setWallet_rebindsWallet() public {
        bytes32 id = _register();
        (address w2, uint256 k2) = makeAddrAndKey("wallet2");
        bytes memory sig = _sig(k2, id, owner, w2, deadline);
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentityWalletChanged(id, wallet, w2);
        vm.prank(owner);
        reg.setWallet(id, w2, deadline, sig);
        assertEq(reg.identityOf(id).wallet, w2);
        assertEq(reg.idOfWallet(w2), id);
        assertEq(reg.idOfWallet(wallet), bytes32(0));
    }

    function test_setWallet_revertsWhenNotOwner() public {
        bytes32 id = _register();
        vm.expectRevert(
            abi.encodeWithSelector(
                IIdentityRegistry.IdentityRegistryNotIdentityOwner.selector, id, address(this)
            )
        );
        reg.setWallet(id, makeAddr("w2"), deadline, "");
    }

    function test_setWallet_revertsWhenUnknown() public {
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryUnknownIdentity.selector, bytes32("x"))
        );
        reg.setWallet("x", makeAddr("w2"), deadline, "");
    }

    function test_setMetadata_updatesHash() public {
        bytes32 id = _register();
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentityMetadataUpdated(id, "new");
        vm.prank(owner);
        reg.setMetadata(id, "new");
        assertEq(reg.identityOf(id).metadataHash, bytes32("new"));
    }

    function test_setMetadata_revertsWhenRevoked() public {
        bytes32 id = _register();
        vm.prank(owner);
        reg.revoke(id);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidStatus.selector, id, 3)
        );
        reg.setMetadata(id, "new");
    }

    function test_suspend_andReinstate() public {
        bytes32 id = _register();
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentitySuspended(id);
        vm.prank(admin);
        reg.suspend(id);
        assertEq(reg.identityOf(id).status, 2);
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentityReinstated(id);
        vm.prank(admin);
        reg.reinstate(id);
        assertEq(reg.identityOf(id).status, 1);
    }

    function test_suspend_revertsWhenNotAdmin() public {
        bytes32 id = _register();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        reg.suspend(id);
    }

    function test_suspend_revertsWhenNotActive() public {
        bytes32 id = _register();
        vm.startPrank(admin);
        reg.suspend(id);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidStatus.selector, id, 2)
        );
        reg.suspend(id);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryUnknownIdentity.selector, bytes32("x"))
        );
        reg.suspend("x");
    }

    function test_reinstate_revertsWhenNotSuspended() public {
        bytes32 id = _register();
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidStatus.selector, id, 1)
        );
        reg.reinstate(id);
    }

    function test_revoke_byOwnerFreesWallet() public {
        bytes32 id = _register();
        vm.expectEmit(address(reg));
        emit IIdentityRegistry.IdentityRevoked(id);
        vm.prank(owner);
        reg.revoke(id);
        assertEq(reg.identityOf(id).status, 3);
        assertEq(reg.idOfWallet(wallet), bytes32(0));
    }

    function test_revoke_byAdmin() public {
        bytes32 id = _register();
        vm.prank(admin);
        reg.revoke(id);
        assertEq(reg.identityOf(id).status, 3);
    }

    function test_revoke_revertsWhenStranger() public {
        bytes32 id = _register();
        vm.expectRevert(
            abi.encodeWithSelector(
                IIdentityRegistry.IdentityRegistryNotAuthorized.selector, id, address(this)
            )
        );
        reg.revoke(id);
    }

    function test_revoke_revertsWhenAlreadyRevoked() public {
        bytes32 id = _register();
        vm.startPrank(owner);
        reg.revoke(id);
        vm.expectRevert(
            abi.encodeWithSelector(IIdentityRegistry.IdentityRegistryInvalidStatus.selector, id, 3)
        );
        reg.revoke(id);
    }
}
// forge-lint: disable-end(unsafe-typecast)
