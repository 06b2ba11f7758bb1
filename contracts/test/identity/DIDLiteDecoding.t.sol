// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {DIDLite} from "src/identity/DIDLite.sol";
import {IDIDLite} from "src/interfaces/identity/IDIDLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

/// @notice Differential fuzzing of the packed decoder: the Lite's calldata/assembly decoder against a plain
///         memory-based reference decoder written from the documented layout, on generated batches that may be
///         truncated, carry a bad kind byte or out-of-order cursors. Outcome (exact error or state) must match.
contract DIDLiteDecodingTest is LiteTestBase {
    string internal constant NAME = "Pact DIDLite";
    DIDLite internal lite;

    struct Ref {
        uint8 kind;
        uint64 cursor;
        address did;
        bytes32 name;
        bytes32 value;
        uint64 validTo;
        uint8 info;
    }

    function setUp() public {
        _initSigners();
        lite = new DIDLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
    }

    function _read(bytes memory b, uint256 off, uint256 size) internal pure returns (uint256 v) {
        for (uint256 i; i < size; ++i) {
            v = (v << 8) | uint8(b[off + i]);
        }
    }

    /// @dev Builds up to 6 updates from `seed`; `cut` may truncate, `badKindAt`/`swapAt` may corrupt.
    function _build(uint256 seed, uint256 n, uint256 cut, uint256 badKindAt, uint256 swapAt)
        internal
        pure
        returns (bytes memory packed, uint256 count)
    {
        uint64 c = 10;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            c = (i == swapAt && i > 0) ? c - 1 : c + uint64(1 + r % 1000);
            address did = address(uint160(0xD00 + (r >> 8) % 3));
            bytes32 name = bytes32(uint256((r >> 16) % 3));
            bytes memory u = (r >> 24) % 3 == 0
                ? _removeAttributeUpdate(c, did, name)
                : _setAttributeUpdate(
                    c, did, name, keccak256(abi.encode(r)), uint64(r >> 64), uint8(r >> 128)
                );
            if (i == badKindAt) u[0] = bytes1(uint8(3 + (r >> 136) % 250));
            packed = bytes.concat(packed, u);
        }
        count = n;
        if (cut < packed.length) {
            bytes memory t = new bytes(cut);
            for (uint256 i; i < cut; ++i) {
                t[i] = packed[i];
            }
            packed = t;
        }
    }

    /// @dev Reference decoder: returns the expected revert data (empty on success) and the decoded updates.
    function _reference(bytes memory p, uint256 count, uint64 fromCursor, uint64 toCursor)
        internal
        pure
        returns (bytes memory err, Ref[] memory refs, uint256 n)
    {
        refs = new Ref[](8);
        uint256 o;
        uint64 prev = fromCursor;
        while (o < p.length) {
            uint8 kind = uint8(p[o]);
            uint256 size = kind == 1 ? 102 : kind == 2 ? 61 : 0;
            if (size == 0) {
                return (abi.encodeWithSelector(ILiteBase.LiteUnknownUpdateKind.selector, n, kind), refs, n);
            }
            if (o + size > p.length) {
                return (abi.encodeWithSelector(ILiteBase.LiteUpdateTruncated.selector, n, o), refs, n);
            }
            Ref memory r;
            r.kind = kind;
            r.cursor = uint64(_read(p, o + 1, 8));
            r.did = address(uint160(_read(p, o + 9, 20)));
            r.name = bytes32(_read(p, o + 29, 32));
            if (kind == 1) {
                r.value = bytes32(_read(p, o + 61, 32));
                r.validTo = uint64(_read(p, o + 93, 8));
                r.info = uint8(p[o + 101]);
            }
            if (r.cursor <= prev) {
                return (
                    abi.encodeWithSelector(ILiteBase.LiteUpdateCursorOutOfOrder.selector, n, r.cursor, prev),
                    refs,
                    n
                );
            }
            if (r.cursor > toCursor) {
                return (
                    abi.encodeWithSelector(
                        ILiteBase.LiteUpdateCursorBeyondBatch.selector, n, r.cursor, toCursor
                    ),
                    refs,
                    n
                );
            }
            prev = r.cursor;
            refs[n++] = r;
            o += size;
        }
        if (n != count) {
            return (abi.encodeWithSelector(ILiteBase.LiteCountMismatch.selector, count, n), refs, n);
        }
    }

    function _check(uint256 seed, uint8 rawN, uint16 cut, uint8 badKindAt, uint8 swapAt, uint64 toCursor)
        internal
    {
        uint256 n = rawN % 7;
        (bytes memory packed, uint256 count) = _build(seed, n, cut, badKindAt % 12, swapAt % 12);
        toCursor = uint64(bound(toCursor, 0, 8000));
        (bytes memory err, Ref[] memory refs, uint256 decoded) = _reference(packed, count, 0, toCursor);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, uint32(count), toCursor, 1);
        bytes memory sigs = _sign(NAME, lite, h, _quorum());
        if (err.length != 0) {
            vm.expectRevert(err);
            lite.applyBatch(h, packed, sigs);
            return;
        }
        lite.applyBatch(h, packed, sigs);
        // the last write per key wins; check every decoded key against the last ref for it
        for (uint256 i; i < decoded; ++i) {
            Ref memory last = refs[i];
            for (uint256 j = i + 1; j < decoded; ++j) {
                if (refs[j].did == last.did && refs[j].name == last.name) last = refs[j];
            }
            IDIDLite.AttributeRecord memory got = lite.attributeState(last.did, last.name);
            assertEq(got.cursor, last.cursor, "cursor");
            assertEq(got.removed, last.kind == 2, "removed");
            if (last.kind == 1) {
                assertEq(got.value, last.value, "value");
                assertEq(got.validTo, last.validTo, "validTo");
                assertEq(got.valueInfo, last.info, "info");
            }
        }
    }

    function testFuzz_applyBatch_matchesReferenceDecoder(
        uint256 seed,
        uint8 n,
        uint16 cut,
        uint8 badKindAt,
        uint8 swapAt,
        uint64 toCursor
    ) public {
        _check(seed, n, cut, badKindAt, swapAt, toCursor);
    }

    function test_applyBatch_matchesReferenceDecoder_pinned() public {
        _check(1, 6, type(uint16).max, 255, 255, 8000); // six valid updates
        _check(2, 3, 150, 255, 255, 8000); // truncated inside the second update
        _check(3, 4, type(uint16).max, 2, 255, 8000); // bad kind byte on the third update
        _check(4, 4, type(uint16).max, 255, 2, 8000); // cursor goes back on the third update
        _check(5, 5, type(uint16).max, 255, 255, 20); // cursor beyond toCursor
        _check(6, 0, 0, 255, 255, 0); // empty batch
    }
}
// forge-lint: disable-end(unsafe-typecast)
