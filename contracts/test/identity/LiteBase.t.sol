// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IdentityLite} from "src/identity/IdentityLite.sol";
import {StakingLite} from "src/identity/StakingLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {IStakingLite} from "src/interfaces/identity/IStakingLite.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

/// @notice Batch verification, replay, rotation and equivocation tests of LiteBase, run on StakingLite.
contract LiteBaseTest is LiteTestBase {
    string internal constant NAME = "Pact StakingLite";
    StakingLite internal lite;

    bytes32 internal constant ID_A = keccak256("agent-a");
    bytes32 internal constant ID_B = keccak256("agent-b");

    function setUp() public {
        _initSigners();
        lite = new StakingLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        vm.warp(1_800_000_000);
    }

    // ------------------------------------------------------------------ helpers

    function _packed() internal pure returns (bytes memory) {
        return bytes.concat(
            _bondUpdate(_cursor(100, 0), ID_A, 5e6, 0), _bondUpdate(_cursor(100, 3), ID_B, 7e6, 1e6)
        );
    }

    function _header(bytes memory packed, uint32 count) internal view returns (ILiteBase.BatchHeader memory) {
        return _nextHeader(lite, packed, count, _cursor(101, 0), 1_700_000_000);
    }

    function _signed(ILiteBase.BatchHeader memory h) internal view returns (bytes memory) {
        return _sign(NAME, lite, h, _quorum());
    }

    function _applyFirst() internal returns (ILiteBase.BatchHeader memory h) {
        bytes memory packed = _packed();
        h = _header(packed, 2);
        lite.applyBatch(h, packed, _signed(h));
    }

    function _expectRevert(
        ILiteBase.BatchHeader memory h,
        bytes memory packed,
        bytes memory sigs,
        bytes memory err
    ) internal {
        vm.expectRevert(err);
        lite.applyBatch(h, packed, sigs);
    }

    function _recover(bytes32 digest, bytes memory sigs, uint256 index) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            let p := add(add(sigs, 32), mul(index, 65))
            r := mload(p)
            s := mload(add(p, 32))
            v := byte(0, mload(add(p, 64)))
        }
        return ecrecover(digest, v, r, s);
    }

    function _setSig(bytes memory sigs, uint256 index, bytes32 r, bytes32 s, uint8 v) internal pure {
        assembly {
            let p := add(add(sigs, 32), mul(index, 65))
            mstore(p, r)
            mstore(add(p, 32), s)
            mstore8(add(p, 64), v)
        }
    }

    function _swapSigs(bytes memory sigs, uint256 i, uint256 j) internal pure {
        (bytes32 ri, bytes32 si, uint8 vi) = _sigAt(sigs, i);
        (bytes32 rj, bytes32 sj, uint8 vj) = _sigAt(sigs, j);
        _setSig(sigs, i, rj, sj, vj);
        _setSig(sigs, j, ri, si, vi);
    }

    function _sigAt(bytes memory sigs, uint256 index) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly {
            let p := add(add(sigs, 32), mul(index, 65))
            r := mload(p)
            s := mload(add(p, 32))
            v := byte(0, mload(add(p, 64)))
        }
    }

    // ------------------------------------------------------------------ constructor and views

    function test_constructor_setsSignerSetAndWatermark() public view {
        assertEq(lite.signers(), signerAddrs);
        assertEq(lite.threshold(), THRESHOLD);
        assertEq(lite.signerSetId(), 1);
        assertEq(lite.lastSequence(), 0);
        assertEq(lite.lastCursor(), 0);
        assertEq(lite.lastHomeTimestamp(), 0);
        assertEq(lite.homeChainId(), HOME_CHAIN_ID);
        assertFalse(lite.paused());
        for (uint256 i; i < 6; ++i) {
            assertTrue(lite.isSigner(signerAddrs[i]));
        }
        assertFalse(lite.isSigner(address(0)));
        assertFalse(lite.isSigner(address(this)));
    }

    function test_constructor_revertsWhenThresholdNotAboveHalf() public {
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteInvalidThreshold.selector, 3, 6));
        new StakingLite(HOME_CHAIN_ID, signerAddrs, 3);
    }

    function test_constructor_revertsWhenThresholdAboveSetSize() public {
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteInvalidThreshold.selector, 7, 6));
        new StakingLite(HOME_CHAIN_ID, signerAddrs, 7);
    }

    function test_constructor_revertsWhenZeroSigner() public {
        address[] memory s = signerAddrs;
        s[2] = address(0);
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteZeroSigner.selector, 2));
        new StakingLite(HOME_CHAIN_ID, s, THRESHOLD);
    }

    function test_constructor_revertsWhenDuplicateSigner() public {
        address[] memory s = signerAddrs;
        s[5] = s[1];
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteDuplicateSigner.selector, s[1]));
        new StakingLite(HOME_CHAIN_ID, s, THRESHOLD);
    }

    function test_batchTypehash_matchesTypeString() public view {
        assertEq(lite.BATCH_TYPEHASH(), keccak256(bytes(BATCH_TYPE)));
        assertEq(
            BATCH_TYPE,
            "BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)"
        );
    }

    function test_domainSeparator_matchesIndependentComputation() public view {
        assertEq(lite.domainSeparator(), _domainSeparator(NAME, block.chainid, address(lite)));
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            lite.eip712Domain();
        assertEq(name, NAME);
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(lite));
    }

    function test_batchDigest_matchesIndependentComputation() public view {
        ILiteBase.BatchHeader memory h = _header(_packed(), 2);
        assertEq(lite.batchStructHash(h), _structHash(h));
        assertEq(lite.batchDigest(h), _digest(NAME, block.chainid, address(lite), h));
    }

    // ------------------------------------------------------------------ happy paths

    function test_applyBatch_appliesUpdatesAndAdvancesWatermark() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        vm.expectEmit(address(lite));
        emit ILiteBase.BatchApplied(1, 1, 0, _cursor(101, 0), 1_700_000_000, 2, keccak256(packed));
        lite.applyBatch(h, packed, sigs);

        ILiteBase.Watermark memory w = lite.watermark();
        assertEq(w.lastSequence, 1);
        assertEq(w.lastCursor, _cursor(101, 0));
        assertEq(w.lastHomeTimestamp, 1_700_000_000);
        assertEq(w.signerSetId, 1);
        IStakingLite.BondRecord memory a = lite.bondOf(ID_A);
        assertEq(a.amount, 5e6);
        assertEq(a.unbonding, 0);
        assertEq(a.cursor, _cursor(100, 0));
        IStakingLite.BondRecord memory b = lite.bondOf(ID_B);
        assertEq(b.amount, 7e6);
        assertEq(b.unbonding, 1e6);
        assertEq(b.cursor, _cursor(100, 3));
    }

    function test_applyBatch_acceptsEmptyHeartbeat() public {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, "", 0, _cursor(50, 0xffffffff), 1_700_000_001);
        lite.applyBatch(h, "", _signed(h));
        assertEq(lite.lastSequence(), 1);
        assertEq(lite.lastCursor(), _cursor(50, 0xffffffff));
        // a heartbeat that does not move the cursor is fine too
        h = _nextHeader(lite, "", 0, _cursor(50, 0xffffffff), 1_700_000_001);
        lite.applyBatch(h, "", _signed(h));
        assertEq(lite.lastSequence(), 2);
    }

    function test_applyBatch_acceptsAnyRelayerAndAnyQuorum() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        uint256[] memory keys = new uint256[](4);
        (keys[0], keys[1], keys[2], keys[3]) = (signerKeys[5], signerKeys[2], signerKeys[4], signerKeys[1]);
        vm.prank(makeAddr("relayer"));
        lite.applyBatch(h, packed, _sign(NAME, lite, h, keys));
        assertEq(lite.lastSequence(), 1);
    }

    // ------------------------------------------------------------------ header checks (signed, then the check fails)

    function test_applyBatch_revertsWhenSourceChainMismatch() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        h.sourceChainId = 1;
        _expectRevert(
            h,
            packed,
            _signed(h),
            abi.encodeWithSelector(ILiteBase.LiteSourceChainMismatch.selector, HOME_CHAIN_ID, 1)
        );
    }

    function test_applyBatch_revertsWhenSignerSetMismatch() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        h.signerSetId = 2;
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteSignerSetMismatch.selector, 1, 2)
        );
    }

    function test_applyBatch_revertsWhenSequenceSkipsAhead() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        h.sequence = 2;
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteSequenceMismatch.selector, 1, 2)
        );
    }

    function test_applyBatch_revertsWhenFromCursorMismatch() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        h.fromCursor = 1;
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteFromCursorMismatch.selector, 0, 1)
        );
    }

    function test_applyBatch_revertsWhenToCursorBelowFromCursor() public {
        _applyFirst();
        ILiteBase.BatchHeader memory h = _nextHeader(lite, "", 0, _cursor(100, 0), 1_700_000_000);
        _expectRevert(
            h,
            "",
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteCursorRangeInvalid.selector, _cursor(101, 0), _cursor(100, 0)
            )
        );
    }

    function test_applyBatch_revertsWhenHomeTimestampRegresses() public {
        _applyFirst();
        ILiteBase.BatchHeader memory h = _nextHeader(lite, "", 0, _cursor(102, 0), 1_699_999_999);
        _expectRevert(
            h,
            "",
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteHomeTimestampRegressed.selector, 1_700_000_000, 1_699_999_999
            )
        );
    }

    function test_applyBatch_revertsWhenUpdatesHashMismatch() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        h.updatesHash = keccak256("other");
        _expectRevert(
            h,
            packed,
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteUpdatesHashMismatch.selector, keccak256("other"), keccak256(packed)
            )
        );
    }

    function test_applyBatch_revertsWhenCountMismatch() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 3);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteCountMismatch.selector, 3, 2)
        );
    }

    // ------------------------------------------------------------------ tampering after signing

    /// @dev Changes header field `field` (or the updates) after signing; the first signature then recovers to a
    ///      stranger, so the exact error is LiteNotSigner(0, stranger, 1).
    function _assertTamperedRejected(uint256 field) internal {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        if (field == 0) {
            h.toCursor += 1;
        } else if (field == 1) {
            h.homeTimestamp += 1;
        } else if (field == 2) {
            h.count = 3;
        } else if (field == 3) {
            packed = bytes.concat(
                _bondUpdate(_cursor(100, 0), ID_A, 6e6, 0), _bondUpdate(_cursor(100, 3), ID_B, 7e6, 1e6)
            );
            h.updatesHash = keccak256(packed);
        }
        address stranger = _recover(_digest(NAME, block.chainid, address(lite), h), sigs, 0);
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, stranger, 1)
        );
    }

    /// @dev The fields checked before the signatures keep their own error when changed after signing.
    function test_applyBatch_revertsWithFieldErrorWhenCheckedFieldTamperedAfterSigning() public {
        bytes memory packed = _packed();
        bytes memory sigs = _signed(_header(packed, 2));
        ILiteBase.BatchHeader memory h = _header(packed, 2);

        h.sourceChainId = 1;
        _expectRevert(
            h,
            packed,
            sigs,
            abi.encodeWithSelector(ILiteBase.LiteSourceChainMismatch.selector, HOME_CHAIN_ID, 1)
        );
        h = _header(packed, 2);
        h.signerSetId = 0;
        _expectRevert(h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignerSetMismatch.selector, 1, 0));
        h = _header(packed, 2);
        h.sequence = 0;
        _expectRevert(h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSequenceMismatch.selector, 1, 0));
        h = _header(packed, 2);
        h.fromCursor = 9;
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteFromCursorMismatch.selector, 0, 9)
        );
        h = _header(packed, 2);
        h.updatesHash = bytes32(0);
        _expectRevert(
            h,
            packed,
            sigs,
            abi.encodeWithSelector(ILiteBase.LiteUpdatesHashMismatch.selector, bytes32(0), keccak256(packed))
        );
        // untouched, the same signatures are accepted
        lite.applyBatch(_header(packed, 2), packed, sigs);
    }

    function test_applyBatch_revertsWhenToCursorTamperedAfterSigning() public {
        _assertTamperedRejected(0);
    }

    function test_applyBatch_revertsWhenHomeTimestampTamperedAfterSigning() public {
        _assertTamperedRejected(1);
    }

    function test_applyBatch_revertsWhenCountTamperedAfterSigning() public {
        _assertTamperedRejected(2);
    }

    function test_applyBatch_revertsWhenUpdatesTamperedAfterSigning() public {
        _assertTamperedRejected(3);
    }

    function test_applyBatch_revertsWhenUpdatesChangedButHashKept() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        bytes memory other = bytes.concat(_bondUpdate(_cursor(100, 0), ID_A, 6e6, 0));
        _expectRevert(
            h,
            other,
            sigs,
            abi.encodeWithSelector(
                ILiteBase.LiteUpdatesHashMismatch.selector, keccak256(packed), keccak256(other)
            )
        );
    }

    // ------------------------------------------------------------------ signature defects

    function test_applyBatch_revertsWhenSignersUnsorted() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        _swapSigs(sigs, 0, 1);
        bytes32 digest = lite.batchDigest(h);
        address lower = _recover(digest, sigs, 1);
        address higher = _recover(digest, sigs, 0);
        assertLt(uint160(lower), uint160(higher));
        _expectRevert(
            h,
            packed,
            sigs,
            abi.encodeWithSelector(ILiteBase.LiteSignersNotAscending.selector, 1, lower, higher)
        );
    }

    function test_applyBatch_revertsWhenSignerDuplicated() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        (bytes32 r1, bytes32 s1, uint8 v1) = _sigAt(sigs, 1);
        _setSig(sigs, 2, r1, s1, v1);
        address dup = _recover(lite.batchDigest(h), sigs, 1);
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignersNotAscending.selector, 2, dup, dup)
        );
    }

    function test_applyBatch_revertsWhenHighS() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        (bytes32 r, bytes32 s, uint8 v) = _sigAt(sigs, 2);
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        _setSig(sigs, 2, r, highS, v == 27 ? 28 : 27);
        // the malleated signature still recovers to the same signer
        assertEq(_recover(lite.batchDigest(h), sigs, 2), vm.addr(_sortedKey(h, 2)));
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignatureHighS.selector, 2, highS)
        );
    }

    function _sortedKey(ILiteBase.BatchHeader memory h, uint256 index) internal view returns (uint256) {
        address want = _recover(lite.batchDigest(h), _signed(h), index);
        for (uint256 i; i < signerKeys.length; ++i) {
            if (vm.addr(signerKeys[i]) == want) return signerKeys[i];
        }
        revert("not found");
    }

    function test_applyBatch_revertsWhenWrongV() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        uint8[3] memory bad = [uint8(0), 1, 29];
        for (uint256 k; k < bad.length; ++k) {
            bytes memory sigs = _signed(h);
            (bytes32 r, bytes32 s,) = _sigAt(sigs, 1);
            _setSig(sigs, 1, r, s, bad[k]);
            _expectRevert(
                h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignatureInvalidV.selector, 1, bad[k])
            );
        }
    }

    function test_applyBatch_revertsWhenNonMemberSigns() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        (address outsider, uint256 outsiderKey) = makeAddrAndKey("outsider");
        uint256[] memory keys = _quorum();
        keys[3] = outsiderKey;
        bytes memory sigs = _sign(NAME, lite, h, keys);
        uint256 index;
        for (uint256 i; i < 4; ++i) {
            if (_recover(lite.batchDigest(h), sigs, i) == outsider) index = i;
        }
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, index, outsider, 1)
        );
    }

    function test_applyBatch_revertsWhenBelowThreshold() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        uint256[] memory keys = new uint256[](3);
        (keys[0], keys[1], keys[2]) = (signerKeys[0], signerKeys[1], signerKeys[2]);
        _expectRevert(
            h,
            packed,
            _sign(NAME, lite, h, keys),
            abi.encodeWithSelector(ILiteBase.LiteSignatureCountMismatch.selector, 3, 4)
        );
    }

    function test_applyBatch_revertsWhenAboveThreshold() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        _expectRevert(
            h,
            packed,
            _sign(NAME, lite, h, signerKeys),
            abi.encodeWithSelector(ILiteBase.LiteSignatureCountMismatch.selector, 6, 4)
        );
    }

    function test_applyBatch_revertsWhenSignaturesMalformed() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = bytes.concat(_signed(h), hex"00");
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignaturesMalformed.selector, 261)
        );
    }

    function test_applyBatch_revertsWhenSignatureRecoversZero() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        _setSig(sigs, 0, bytes32(0), bytes32(uint256(1)), 27);
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSignatureRecoveredZero.selector, 0)
        );
    }

    // ------------------------------------------------------------------ replays

    function test_applyBatch_revertsWhenSameSequenceReplayed() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        lite.applyBatch(h, packed, sigs);
        _expectRevert(h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteSequenceMismatch.selector, 2, 1));
    }

    function test_applyBatch_revertsWhenSignedForAnotherChain() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        // the same Lite address on another satellite chain
        bytes32 foreignDigest = _digest(NAME, 10, address(lite), h);
        bytes memory sigs = _signSorted(foreignDigest, _quorum());
        address stranger = _recover(lite.batchDigest(h), sigs, 0);
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, stranger, 1)
        );
    }

    function test_applyBatch_revertsAfterChainIdFork() public {
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        bytes32 before = lite.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertTrue(lite.domainSeparator() != before, "domain recomputed");
        assertEq(lite.domainSeparator(), _domainSeparator(NAME, block.chainid, address(lite)));
        address stranger = _recover(lite.batchDigest(h), sigs, 0);
        _expectRevert(
            h, packed, sigs, abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, stranger, 1)
        );
    }

    function test_applyBatch_revertsWhenReplayedOnAnotherLiteOfSameKind() public {
        StakingLite twin = new StakingLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        bytes memory sigs = _signed(h);
        address stranger = _recover(twin.batchDigest(h), sigs, 0);
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, stranger, 1));
        twin.applyBatch(h, packed, sigs);
    }

    function test_applyBatch_revertsWhenReplayedOnAnotherLiteKind() public {
        // an IdentityLite deployed at the very address of the StakingLite still has another domain name
        IdentityLite other = new IdentityLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        ILiteBase.BatchHeader memory h = _nextHeader(other, "", 0, 5, 1);
        bytes memory sigs = _signSorted(_digest(NAME, block.chainid, address(other), h), _quorum());
        address stranger = _recover(other.batchDigest(h), sigs, 0);
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, stranger, 1));
        other.applyBatch(h, "", sigs);
    }

    // ------------------------------------------------------------------ decoding

    function test_applyBatch_revertsWhenUnknownKind() public {
        bytes memory packed = bytes.concat(_bondUpdate(_cursor(100, 0), ID_A, 1, 0), hex"07");
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteUnknownUpdateKind.selector, 1, 7)
        );
    }

    function test_applyBatch_revertsWhenRotationKindInsideBatch() public {
        bytes memory packed =
            bytes.concat(_bondUpdate(_cursor(100, 0), ID_A, 1, 0), _rotationUpdate(4, signerAddrs));
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteUnknownUpdateKind.selector, 1, 0xff)
        );
    }

    function test_applyBatch_revertsWhenUpdateTruncated() public {
        bytes memory full = _packed();
        bytes memory packed = new bytes(full.length - 1);
        for (uint256 i; i < packed.length; ++i) {
            packed[i] = full[i];
        }
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteUpdateTruncated.selector, 1, 65)
        );
    }

    function test_applyBatch_revertsWhenUpdateCursorOutOfOrder() public {
        bytes memory packed =
            bytes.concat(_bondUpdate(_cursor(100, 3), ID_A, 1, 0), _bondUpdate(_cursor(100, 3), ID_B, 2, 0));
        ILiteBase.BatchHeader memory h = _header(packed, 2);
        _expectRevert(
            h,
            packed,
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteUpdateCursorOutOfOrder.selector, 1, _cursor(100, 3), _cursor(100, 3)
            )
        );
    }

    function test_applyBatch_revertsWhenUpdateCursorNotAfterFromCursor() public {
        _applyFirst();
        // an update from an already covered position would take a record back to an older cursor
        bytes memory packed = _bondUpdate(_cursor(100, 0), ID_A, 1, 0);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, _cursor(102, 0), 1_700_000_100);
        _expectRevert(
            h,
            packed,
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteUpdateCursorOutOfOrder.selector, 0, _cursor(100, 0), _cursor(101, 0)
            )
        );
    }

    function test_applyBatch_revertsWhenUpdateCursorBeyondBatch() public {
        bytes memory packed = _bondUpdate(_cursor(101, 1), ID_A, 1, 0);
        ILiteBase.BatchHeader memory h = _header(packed, 1);
        _expectRevert(
            h,
            packed,
            _signed(h),
            abi.encodeWithSelector(
                ILiteBase.LiteUpdateCursorBeyondBatch.selector, 0, _cursor(101, 1), _cursor(101, 0)
            )
        );
    }

    // ------------------------------------------------------------------ rotation

    function _newSet() internal returns (uint256[] memory keys, address[] memory addrs) {
        (keys, addrs) = _makeSigners("next", 5);
        // keep two old signers in the new set
        keys[0] = signerKeys[0];
        addrs[0] = signerAddrs[0];
        keys[1] = signerKeys[1];
        addrs[1] = signerAddrs[1];
    }

    function _rotateTo(address[] memory addrs, uint8 newThreshold)
        internal
        returns (ILiteBase.BatchHeader memory h)
    {
        bytes memory packed = _rotationUpdate(newThreshold, addrs);
        uint64 c = lite.lastCursor();
        h = _nextHeader(lite, packed, 1, c, lite.lastHomeTimestamp());
        lite.applyBatch(h, packed, _signed(h));
    }

    function test_applyBatch_rotatesSigners() public {
        _applyFirst();
        (uint256[] memory keys, address[] memory addrs) = _newSet();
        bytes memory packed = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, _cursor(101, 0), 1_700_000_000);
        bytes memory sigs = _signed(h);
        vm.expectEmit(address(lite));
        emit ILiteBase.SignerSetRotated(2, addrs, 3);
        vm.expectEmit(address(lite));
        emit ILiteBase.BatchApplied(
            2, 1, _cursor(101, 0), _cursor(101, 0), 1_700_000_000, 1, keccak256(packed)
        );
        lite.applyBatch(h, packed, sigs);

        assertEq(lite.signerSetId(), 2);
        assertEq(lite.threshold(), 3);
        assertEq(lite.signers(), addrs);
        assertEq(lite.lastSequence(), 2);
        assertEq(lite.lastCursor(), _cursor(101, 0));
        assertTrue(lite.isSigner(signerAddrs[0]));
        assertFalse(lite.isSigner(signerAddrs[5]));
        assertTrue(lite.isSigner(addrs[4]));

        // the new set signs the next batch with its own threshold
        bytes memory next = _bondUpdate(_cursor(102, 0), ID_A, 9, 0);
        ILiteBase.BatchHeader memory h2 = _nextHeader(lite, next, 1, _cursor(102, 0), 1_700_000_012);
        uint256[] memory three = new uint256[](3);
        (three[0], three[1], three[2]) = (keys[0], keys[3], keys[4]);
        lite.applyBatch(h2, next, _sign(NAME, lite, h2, three));
        assertEq(lite.bondOf(ID_A).amount, 9);
    }

    function test_applyBatch_revertsWhenOldSetSignsAfterRotation() public {
        (, address[] memory addrs) = _newSet();
        _rotateTo(addrs, 3);
        // old set signs the next sequence claiming its old set id
        ILiteBase.BatchHeader memory h = _nextHeader(lite, "", 0, 1, 1);
        h.signerSetId = 1;
        _expectRevert(
            h, "", _signed(h), abi.encodeWithSelector(ILiteBase.LiteSignerSetMismatch.selector, 2, 1)
        );
        // ... or claiming the new set id: a removed signer is no member
        h.signerSetId = 2;
        uint256[] memory keys = new uint256[](3);
        (keys[0], keys[1], keys[2]) = (signerKeys[3], signerKeys[4], signerKeys[5]);
        bytes memory sigs = _sign(NAME, lite, h, keys);
        address first = _recover(lite.batchDigest(h), sigs, 0);
        _expectRevert(h, "", sigs, abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, first, 2));
    }

    function test_applyBatch_revertsInFlightBatchAfterRotation() public {
        _applyFirst();
        // set 1 signs the rotation (sequence 2) and, pipelined behind it, batch 3 for set 1
        (uint256[] memory keys, address[] memory addrs) = _newSet();
        bytes memory rotation = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory rot = _nextHeader(lite, rotation, 1, _cursor(101, 0), 1_700_000_000);
        bytes memory rotSigs = _signed(rot);
        bytes memory packed = _bondUpdate(_cursor(102, 0), ID_A, 1, 0);
        ILiteBase.BatchHeader memory inFlight = ILiteBase.BatchHeader({
            sourceChainId: HOME_CHAIN_ID,
            signerSetId: 1,
            sequence: 3,
            fromCursor: _cursor(101, 0),
            toCursor: _cursor(102, 0),
            homeTimestamp: 1_700_000_012,
            count: 1,
            updatesHash: keccak256(packed)
        });
        bytes memory inFlightSigs = _signed(inFlight);
        // the rotation lands first; the in-flight batch then fails clearly
        lite.applyBatch(rot, rotation, rotSigs);
        _expectRevert(
            inFlight,
            packed,
            inFlightSigs,
            abi.encodeWithSelector(ILiteBase.LiteSignerSetMismatch.selector, 2, 1)
        );
        // the new set re-signs sequence 3 for set 2 (signers 0 and 1 sign both: not equivocation)
        ILiteBase.BatchHeader memory again = _nextHeader(lite, packed, 1, _cursor(102, 0), 1_700_000_012);
        assertEq(again.sequence, 3);
        assertEq(again.signerSetId, 2);
        uint256[] memory three = new uint256[](3);
        (three[0], three[1], three[2]) = (keys[0], keys[3], keys[4]);
        lite.applyBatch(again, packed, _sign(NAME, lite, again, three));
        assertEq(lite.bondOf(ID_A).amount, 1);
        bytes memory sigOld = _one(signerKeys[0], lite.batchDigest(inFlight));
        bytes memory sigNew = _one(signerKeys[0], lite.batchDigest(again));
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteEquivocationSignerSetMismatch.selector, 1, 2));
        lite.reportEquivocation(inFlight, sigOld, again, sigNew);
        assertFalse(lite.paused());
    }

    function test_reportEquivocation_pausesOnRotationAndBatchForSameSequence() public {
        (, address[] memory addrs) = _newSet();
        bytes memory rotation = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory rot = _nextHeader(lite, rotation, 1, 0, 0);
        bytes memory packed = _packed();
        ILiteBase.BatchHeader memory batch = _header(packed, 2);
        assertEq(rot.sequence, batch.sequence);
        lite.reportEquivocation(
            rot,
            _one(signerKeys[4], lite.batchDigest(rot)),
            batch,
            _one(signerKeys[4], lite.batchDigest(batch))
        );
        assertTrue(lite.paused());
    }

    function test_applyBatch_revertsWhenRotationThresholdNotAboveHalf() public {
        (, address[] memory addrs) = _newSet();
        bytes memory packed = _rotationUpdate(2, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, 0, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteInvalidThreshold.selector, 2, 5)
        );
    }

    function test_applyBatch_revertsWhenRotationThresholdZero() public {
        (, address[] memory addrs) = _newSet();
        bytes memory packed = _rotationUpdate(0, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, 0, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteInvalidThreshold.selector, 0, 5)
        );
    }

    function test_applyBatch_revertsWhenRotationHasZeroSigner() public {
        (, address[] memory addrs) = _newSet();
        addrs[3] = address(0);
        bytes memory packed = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, 0, 0);
        _expectRevert(h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteZeroSigner.selector, 3));
    }

    function test_applyBatch_revertsWhenRotationHasDuplicateSigner() public {
        (, address[] memory addrs) = _newSet();
        addrs[4] = addrs[0];
        bytes memory packed = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, 0, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteDuplicateSigner.selector, addrs[0])
        );
    }

    function test_applyBatch_revertsWhenRotationNotAlone() public {
        (, address[] memory addrs) = _newSet();
        bytes memory packed = _rotationUpdate(3, addrs);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 2, 0, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteRotationNotAlone.selector, 2, 0, 0)
        );
        h = _nextHeader(lite, packed, 1, 7, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteRotationNotAlone.selector, 1, 0, 7)
        );
        bytes memory trailing = bytes.concat(packed, hex"01");
        h = _nextHeader(lite, trailing, 1, 0, 0);
        _expectRevert(
            h, trailing, _signed(h), abi.encodeWithSelector(ILiteBase.LiteRotationNotAlone.selector, 1, 0, 0)
        );
    }

    function test_applyBatch_revertsWhenRotationTruncated() public {
        (, address[] memory addrs) = _newSet();
        bytes memory full = _rotationUpdate(3, addrs);
        bytes memory packed = new bytes(full.length - 1);
        for (uint256 i; i < packed.length; ++i) {
            packed[i] = full[i];
        }
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, 0, 0);
        _expectRevert(
            h, packed, _signed(h), abi.encodeWithSelector(ILiteBase.LiteUpdateTruncated.selector, 0, 0)
        );
    }

    // ------------------------------------------------------------------ equivocation

    function _conflict()
        internal
        view
        returns (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b)
    {
        bytes memory packed = _packed();
        a = _header(packed, 2);
        b = _nextHeader(lite, "", 0, _cursor(100, 0), 1_700_000_000);
    }

    function _one(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function test_reportEquivocation_pausesLite() public {
        (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b) = _conflict();
        bytes32 da = lite.batchDigest(a);
        bytes32 db = lite.batchDigest(b);
        address reporter = makeAddr("reporter");
        vm.expectEmit(address(lite));
        emit ILiteBase.EquivocationReported(signerAddrs[3], 1, da, db, reporter);
        vm.prank(reporter);
        lite.reportEquivocation(a, _one(signerKeys[3], da), b, _one(signerKeys[3], db));
        assertTrue(lite.paused());

        // batches revert, watermark views still answer, consumer views fail closed
        bytes memory packed = _packed();
        _expectRevert(a, packed, _signed(a), abi.encodeWithSelector(ILiteBase.LitePaused.selector));
        assertEq(lite.lastSequence(), 0);
        assertEq(lite.lastCursor(), 0);
        assertEq(lite.signerSetId(), 1);
        assertEq(lite.watermark().signerSetId, 1);
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LitePaused.selector));
        lite.reportEquivocation(a, _one(signerKeys[3], da), b, _one(signerKeys[3], db));
    }

    function test_reportEquivocation_pausesAfterAppliedSequence() public {
        ILiteBase.BatchHeader memory a = _applyFirst();
        (, ILiteBase.BatchHeader memory b) = _conflict();
        b.sequence = 1;
        lite.reportEquivocation(
            a, _one(signerKeys[0], lite.batchDigest(a)), b, _one(signerKeys[0], lite.batchDigest(b))
        );
        assertTrue(lite.paused());
        assertEq(lite.lastSequence(), 1);
        assertFalse(lite.isBonded(ID_A, 1, type(uint256).max));
    }

    function test_reportEquivocation_revertsWhenSequencesDiffer() public {
        (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b) = _conflict();
        b.sequence = 2;
        bytes memory sa = _one(signerKeys[0], lite.batchDigest(a));
        bytes memory sb = _one(signerKeys[0], lite.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteEquivocationSequenceMismatch.selector, 1, 2));
        lite.reportEquivocation(a, sa, b, sb);
    }

    function test_reportEquivocation_revertsWhenSameDigest() public {
        (ILiteBase.BatchHeader memory a,) = _conflict();
        bytes32 da = lite.batchDigest(a);
        bytes memory sa = _one(signerKeys[0], da);
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteEquivocationSameDigest.selector, da));
        lite.reportEquivocation(a, sa, a, sa);
    }

    function test_reportEquivocation_revertsWhenSignersDiffer() public {
        (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b) = _conflict();
        bytes memory sa = _one(signerKeys[0], lite.batchDigest(a));
        bytes memory sb = _one(signerKeys[1], lite.batchDigest(b));
        vm.expectRevert(
            abi.encodeWithSelector(
                ILiteBase.LiteEquivocationSignerMismatch.selector, signerAddrs[0], signerAddrs[1]
            )
        );
        lite.reportEquivocation(a, sa, b, sb);
    }

    function test_reportEquivocation_revertsWhenNotMember() public {
        (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b) = _conflict();
        (address outsider, uint256 key) = makeAddrAndKey("outsider");
        bytes memory sa = _one(key, lite.batchDigest(a));
        bytes memory sb = _one(key, lite.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteNotSigner.selector, 0, outsider, 1));
        lite.reportEquivocation(a, sa, b, sb);
    }

    function test_reportEquivocation_revertsWhenBadSignature() public {
        (ILiteBase.BatchHeader memory a, ILiteBase.BatchHeader memory b) = _conflict();
        bytes memory sa = bytes.concat(_one(signerKeys[0], lite.batchDigest(a)), hex"00");
        bytes memory sb = _one(signerKeys[0], lite.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteEquivocationBadSignature.selector, sa));
        lite.reportEquivocation(a, sa, b, sb);
        bytes memory zero = abi.encodePacked(bytes32(0), bytes32(uint256(1)), uint8(27));
        vm.expectRevert(abi.encodeWithSelector(ILiteBase.LiteEquivocationBadSignature.selector, zero));
        lite.reportEquivocation(a, zero, b, sb);
    }
}
