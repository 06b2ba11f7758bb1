// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {DIDLite} from "src/identity/DIDLite.sol";
import {IDIDLite} from "src/interfaces/identity/IDIDLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

contract DIDLiteTest is LiteTestBase {
    string internal constant NAME = "Pact DIDLite";
    DIDLite internal lite;
    address internal did = makeAddr("did");
    bytes32 internal constant KEY = "did/svc/MessagingService";

    function setUp() public {
        _initSigners();
        lite = new DIDLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        vm.warp(1_800_000_000);
    }

    function _apply(bytes memory packed, uint32 count, uint64 toCursor) internal {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, count, toCursor, 1_800_000_000);
        lite.applyBatch(h, packed, _sign(NAME, lite, h, _quorum()));
    }

    function test_attribute_revertsWhenAbsent() public {
        vm.expectRevert(abi.encodeWithSelector(IDIDLite.DIDLiteAttributeAbsent.selector, did, KEY));
        lite.attribute(did, KEY);
    }

    function test_attribute_returnsInlineValue() public {
        _apply(
            _setAttributeUpdate(_cursor(5, 1), did, KEY, "https://a.b", 1_900_000_000, 11), 1, _cursor(5, 1)
        );
        IDIDLite.AttributeRecord memory a = lite.attribute(did, KEY);
        assertEq(a.value, bytes32("https://a.b"));
        assertEq(a.validTo, 1_900_000_000);
        assertEq(a.valueInfo, 11);
        assertFalse(a.removed);
        assertEq(a.cursor, _cursor(5, 1));
    }

    function test_attribute_returnsHashedValue() public {
        bytes32 h = keccak256(bytes("a value longer than thirty-two bytes, kept in the home event"));
        _apply(_setAttributeUpdate(_cursor(5, 1), did, KEY, h, 1_900_000_000, 0xff), 1, _cursor(5, 1));
        IDIDLite.AttributeRecord memory a = lite.attribute(did, KEY);
        assertEq(a.value, h);
        assertEq(a.valueInfo, 0xff);
    }

    function test_attribute_revertsWhenRemoved() public {
        bytes memory packed = bytes.concat(
            _setAttributeUpdate(_cursor(5, 1), did, KEY, "v", 1_900_000_000, 1),
            _removeAttributeUpdate(_cursor(6, 0), did, KEY)
        );
        _apply(packed, 2, _cursor(6, 0));
        vm.expectRevert(
            abi.encodeWithSelector(IDIDLite.DIDLiteAttributeRemoved.selector, did, KEY, _cursor(6, 0))
        );
        lite.attribute(did, KEY);
        IDIDLite.AttributeRecord memory s = lite.attributeState(did, KEY);
        assertTrue(s.removed);
        assertEq(s.validTo, 0);
        assertEq(s.cursor, _cursor(6, 0));
    }

    function test_attribute_setAgainAfterRemove() public {
        _apply(_removeAttributeUpdate(_cursor(6, 0), did, KEY), 1, _cursor(6, 0));
        _apply(_setAttributeUpdate(_cursor(7, 0), did, KEY, "w", 1_900_000_000, 1), 1, _cursor(7, 0));
        assertEq(lite.attribute(did, KEY).value, bytes32("w"));
    }

    function test_attribute_revertsWhenExpired() public {
        _apply(_setAttributeUpdate(_cursor(5, 1), did, KEY, "v", 1_799_999_999, 1), 1, _cursor(5, 1));
        vm.expectRevert(
            abi.encodeWithSelector(IDIDLite.DIDLiteAttributeExpired.selector, did, KEY, 1_799_999_999)
        );
        lite.attribute(did, KEY);
    }

    function test_applyBatch_revertsWhenRemoveTruncated() public {
        bytes memory full = _removeAttributeUpdate(_cursor(6, 0), did, KEY);
        bytes memory packed = new bytes(full.length - 1);
        for (uint256 i; i < packed.length; ++i) {
            packed[i] = full[i];
        }
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, _cursor(6, 0), 1);
        bytes memory sigs = _sign(NAME, lite, h, _quorum());
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteUpdateTruncated.selector, 0, 0));
        lite.applyBatch(h, packed, sigs);
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_applyBatch_decodesAttribute(
        address d,
        bytes32 name,
        bytes32 value,
        uint64 validTo,
        uint8 info
    ) public {
        _assertDecodesAttribute(d, name, value, validTo, info);
    }

    function test_applyBatch_decodesAttribute_pinned() public {
        _assertDecodesAttribute(
            address(type(uint160).max),
            bytes32(type(uint256).max),
            bytes32(type(uint256).max),
            type(uint64).max,
            0xff
        );
        _assertDecodesAttribute(address(0), bytes32(0), bytes32(0), 0, 0);
    }

    function _assertDecodesAttribute(address d, bytes32 name, bytes32 value, uint64 validTo, uint8 info)
        internal
    {
        uint64 c = _cursor(uint256(lite.lastSequence()) + 1000, 3);
        _apply(_setAttributeUpdate(c, d, name, value, validTo, info), 1, c);
        IDIDLite.AttributeRecord memory a = lite.attributeState(d, name);
        assertEq(a.value, value);
        assertEq(a.validTo, validTo);
        assertEq(a.valueInfo, info);
        assertFalse(a.removed);
        assertEq(a.cursor, c);
        // and the removal of exactly that key
        uint64 c2 = c + 1;
        _apply(_removeAttributeUpdate(c2, d, name), 1, c2);
        a = lite.attributeState(d, name);
        assertTrue(a.removed);
        assertEq(a.cursor, c2);
        assertEq(a.valueInfo, 0);
    }
}
// forge-lint: disable-end(unsafe-typecast)
