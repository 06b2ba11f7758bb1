// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {Test} from "forge-std/Test.sol";
import {DIDRegistry} from "src/identity/DIDRegistry.sol";
import {IDIDRegistry} from "src/interfaces/identity/IDIDRegistry.sol";

contract DIDRegistryTest is Test {
    DIDRegistry internal reg;
    address internal did = makeAddr("did");
    bytes32 internal constant NAME = "did/svc/MessagingService";

    function setUp() public {
        reg = new DIDRegistry();
        vm.warp(1_800_000_000);
    }

    function test_setAttribute_storesShortValueInline() public {
        vm.expectEmit(address(reg));
        emit IDIDRegistry.DIDAttributeSet(did, NAME, bytes32("https://x.y"), 11, 1_800_000_100, "https://x.y");
        vm.prank(did);
        reg.setAttribute(NAME, "https://x.y", 100);
        IDIDRegistry.Attribute memory a = reg.attribute(did, NAME);
        assertEq(a.value, bytes32("https://x.y"));
        assertEq(a.valueInfo, 11);
        assertEq(a.validTo, 1_800_000_100);
        assertFalse(a.removed);
    }

    function test_setAttribute_stores32BytesInline() public {
        bytes memory v = abi.encodePacked(keccak256("k"));
        vm.prank(did);
        reg.setAttribute(NAME, v, 1);
        assertEq(reg.attribute(did, NAME).value, keccak256("k"));
        assertEq(reg.attribute(did, NAME).valueInfo, 32);
    }

    function test_setAttribute_storesLongValueAsHash() public {
        bytes memory v = bytes("a value that is definitely longer than thirty-two bytes");
        vm.expectEmit(address(reg));
        emit IDIDRegistry.DIDAttributeSet(did, NAME, keccak256(v), 0xff, 1_800_000_001, v);
        vm.prank(did);
        reg.setAttribute(NAME, v, 1);
        assertEq(reg.attribute(did, NAME).value, keccak256(v));
        assertEq(reg.attribute(did, NAME).valueInfo, 0xff);
    }

    function test_setAttribute_revertsWhenZeroValidity() public {
        vm.prank(did);
        vm.expectRevert(IDIDRegistry.DIDRegistryZeroValidity.selector);
        reg.setAttribute(NAME, "v", 0);
    }

    function test_setAttribute_revertsWhenValidityTooLong() public {
        vm.prank(did);
        vm.expectRevert(
            abi.encodeWithSelector(IDIDRegistry.DIDRegistryValidityTooLong.selector, type(uint64).max)
        );
        reg.setAttribute(NAME, "v", type(uint64).max);
    }

    function test_removeAttribute_removes() public {
        vm.startPrank(did);
        reg.setAttribute(NAME, "v", 10);
        vm.expectEmit(address(reg));
        emit IDIDRegistry.DIDAttributeRemoved(did, NAME);
        reg.removeAttribute(NAME);
        vm.expectRevert(abi.encodeWithSelector(IDIDRegistry.DIDRegistryAttributeRemoved.selector, did, NAME));
        reg.attribute(did, NAME);
        // set again after removal
        reg.setAttribute(NAME, "w", 10);
        assertEq(reg.attribute(did, NAME).value, bytes32("w"));
    }

    function test_removeAttribute_revertsWhenAbsent() public {
        vm.prank(did);
        vm.expectRevert(abi.encodeWithSelector(IDIDRegistry.DIDRegistryAttributeAbsent.selector, did, NAME));
        reg.removeAttribute(NAME);
    }

    function test_removeAttribute_revertsWhenRemoved() public {
        vm.startPrank(did);
        reg.setAttribute(NAME, "v", 10);
        reg.removeAttribute(NAME);
        vm.expectRevert(abi.encodeWithSelector(IDIDRegistry.DIDRegistryAttributeRemoved.selector, did, NAME));
        reg.removeAttribute(NAME);
    }

    function test_attribute_isPerAccount() public {
        vm.prank(did);
        reg.setAttribute(NAME, "v", 10);
        vm.expectRevert(
            abi.encodeWithSelector(IDIDRegistry.DIDRegistryAttributeAbsent.selector, address(this), NAME)
        );
        reg.attribute(address(this), NAME);
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_setAttribute_inlineOrHash(bytes memory value) public {
        _assertStored(value);
    }

    function test_setAttribute_inlineOrHash_pinned() public {
        _assertStored("");
        _assertStored(new bytes(33));
    }

    function _assertStored(bytes memory value) internal {
        vm.prank(did);
        reg.setAttribute(NAME, value, 5);
        IDIDRegistry.Attribute memory a = reg.attribute(did, NAME);
        if (value.length <= 32) {
            assertEq(a.valueInfo, value.length);
            assertEq(a.value, bytes32(value));
        } else {
            assertEq(a.valueInfo, 0xff);
            assertEq(a.value, keccak256(value));
        }
    }
}
// forge-lint: disable-end(unsafe-typecast)
