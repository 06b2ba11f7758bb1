// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {ILiteBase} from "../interfaces/identity/ILiteBase.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title LiteBase
/// @notice Threshold-signed, sequenced batch verification shared by IdentityLite, DIDLite and StakingLite.
/// @dev Storage: one packed watermark slot (`lastSequence | lastCursor << 64 | lastHomeTimestamp << 128 |
///      signerSetId << 192`), one config slot (threshold, paused), the signer list and a membership map
///      `signer => id of the latest set containing it` (so a rotation never has to clear the old set).
abstract contract LiteBase is ILiteBase, EIP712 {
    /// @notice keccak256 of the EIP-712 `BatchHeader` type string.
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)"
    );

    /// @notice Kind byte of the shared signer-rotation update.
    uint8 public constant KIND_ROTATE_SIGNERS = 0xff;

    /// @dev secp256k1n / 2: signatures with a larger `s` are rejected as malleable.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    uint256 private immutable _homeChainId;
    /// @dev Encoded size of an update of kind `k` in bits `8k..8k+7`; zero for a kind this Lite does not apply.
    uint256 private immutable _updateSizes;

    uint256 private _watermark;
    uint8 private _threshold;
    bool private _paused;
    address[] private _signers;
    mapping(address signer => uint64 setId) private _memberOf;

    /// @param name EIP-712 domain name ("Pact IdentityLite", "Pact DIDLite", "Pact StakingLite").
    /// @param homeChainId_ Chain id of the home chain.
    /// @param initialSigners Signer set 1.
    /// @param initialThreshold Signatures required per batch, more than half of the set.
    /// @param updateSizes The encoded size of an update of kind `k` in bits `8k..8k+7` (kinds 1..31; see
    ///        {_applyUpdates}); kinds it gives no size are refused.
    constructor(
        string memory name,
        uint256 homeChainId_,
        address[] memory initialSigners,
        uint8 initialThreshold,
        uint256 updateSizes
    ) EIP712(name, "1") {
        _homeChainId = homeChainId_;
        _updateSizes = updateSizes;
        _setSigners(initialSigners, initialThreshold, 1);
        _watermark = uint256(1) << 192;
    }

    // ------------------------------------------------------------------ writes

    /// @inheritdoc ILiteBase
    function applyBatch(BatchHeader calldata header, bytes calldata packedUpdates, bytes calldata signatures)
        external
    {
        if (_paused) revert LitePaused();
        uint256 wm = _watermark;
        uint64 setId = uint64(wm >> 192);
        uint64 cursor = uint64(wm >> 64);
        if (header.sourceChainId != _homeChainId) {
            revert LiteSourceChainMismatch(_homeChainId, header.sourceChainId);
        }
        if (header.signerSetId != setId) revert LiteSignerSetMismatch(setId, header.signerSetId);
        unchecked {
            if (header.sequence != uint64(wm) + 1) {
                revert LiteSequenceMismatch(uint64(wm) + 1, header.sequence);
            }
        }
        if (header.fromCursor != cursor) revert LiteFromCursorMismatch(cursor, header.fromCursor);
        if (header.toCursor < header.fromCursor) {
            revert LiteCursorRangeInvalid(header.fromCursor, header.toCursor);
        }
        if (header.homeTimestamp < uint64(wm >> 128)) {
            revert LiteHomeTimestampRegressed(uint64(wm >> 128), header.homeTimestamp);
        }
        bytes32 computed = _hashCalldata(packedUpdates);
        if (computed != header.updatesHash) revert LiteUpdatesHashMismatch(header.updatesHash, computed);

        _verifySignatures(_hashTypedDataV4(_structHash(header)), signatures, _threshold, setId);

        if (packedUpdates.length != 0 && uint8(packedUpdates[0]) == KIND_ROTATE_SIGNERS) {
            if (header.count != 1 || header.toCursor != header.fromCursor) {
                revert LiteRotationNotAlone(header.count, header.fromCursor, header.toCursor);
            }
            unchecked {
                ++setId;
            }
            _rotate(packedUpdates, header.count, header.fromCursor, header.toCursor, setId);
        } else {
            uint256 decoded = _applyUpdates(packedUpdates, header.fromCursor, header.toCursor);
            if (decoded != header.count) revert LiteCountMismatch(header.count, decoded);
        }

        _watermark = uint256(header.sequence) | (uint256(header.toCursor) << 64)
            | (uint256(header.homeTimestamp) << 128) | (uint256(setId) << 192);
        emit BatchApplied(
            header.sequence,
            header.signerSetId,
            header.fromCursor,
            header.toCursor,
            header.homeTimestamp,
            header.count,
            header.updatesHash
        );
    }

    /// @inheritdoc ILiteBase
    function reportEquivocation(
        BatchHeader calldata a,
        bytes calldata signatureA,
        BatchHeader calldata b,
        bytes calldata signatureB
    ) external {
        if (_paused) revert LitePaused();
        if (a.sequence != b.sequence) revert LiteEquivocationSequenceMismatch(a.sequence, b.sequence);
        if (a.signerSetId != b.signerSetId) {
            revert LiteEquivocationSignerSetMismatch(a.signerSetId, b.signerSetId);
        }
        bytes32 digestA = _hashTypedDataV4(_structHash(a));
        bytes32 digestB = _hashTypedDataV4(_structHash(b));
        if (digestA == digestB) revert LiteEquivocationSameDigest(digestA);
        address signerA = _recoverOne(digestA, signatureA);
        address signerB = _recoverOne(digestB, signatureB);
        if (signerA != signerB) revert LiteEquivocationSignerMismatch(signerA, signerB);
        uint64 setId = uint64(_watermark >> 192);
        if (_memberOf[signerA] != setId) revert LiteNotSigner(0, signerA, setId);
        _paused = true;
        emit EquivocationReported(signerA, a.sequence, digestA, digestB, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ILiteBase
    function batchDigest(BatchHeader calldata header) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(header));
    }

    /// @inheritdoc ILiteBase
    function batchStructHash(BatchHeader calldata header) external pure returns (bytes32) {
        return _structHash(header);
    }

    /// @inheritdoc ILiteBase
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ILiteBase
    function homeChainId() external view returns (uint256) {
        return _homeChainId;
    }

    /// @inheritdoc ILiteBase
    function watermark() external view returns (Watermark memory w) {
        uint256 wm = _watermark;
        w = Watermark(uint64(wm), uint64(wm >> 64), uint64(wm >> 128), uint64(wm >> 192));
    }

    /// @inheritdoc ILiteBase
    function lastSequence() external view returns (uint64) {
        return uint64(_watermark);
    }

    /// @inheritdoc ILiteBase
    function lastCursor() external view returns (uint64) {
        return uint64(_watermark >> 64);
    }

    /// @inheritdoc ILiteBase
    function lastHomeTimestamp() external view returns (uint64) {
        return uint64(_watermark >> 128);
    }

    /// @inheritdoc ILiteBase
    function signerSetId() external view returns (uint64) {
        return uint64(_watermark >> 192);
    }

    /// @inheritdoc ILiteBase
    function threshold() external view returns (uint8) {
        return _threshold;
    }

    /// @inheritdoc ILiteBase
    function signers() external view returns (address[] memory) {
        return _signers;
    }

    /// @inheritdoc ILiteBase
    function isSigner(address account) external view returns (bool) {
        return account != address(0) && _memberOf[account] == uint64(_watermark >> 192);
    }

    /// @inheritdoc ILiteBase
    function paused() external view returns (bool) {
        return _paused;
    }

    // ------------------------------------------------------------------ internal

    /// @dev Decodes and applies the packed updates; returns how many were decoded. Every update starts with its
    ///      kind (1 byte) and its home cursor (8 bytes); its size comes from the Lite's `updateSizes` table (zero:
    ///      a kind the Lite does not apply) and the Lite applies it ({_applyUpdate}). Cursors must rise strictly
    ///      within `(fromCursor, toCursor]`.
    function _applyUpdates(bytes calldata packed, uint64 fromCursor, uint64 toCursor)
        internal
        returns (uint256 n)
    {
        uint256 start;
        uint256 end;
        assembly ("memory-safe") {
            start := packed.offset
            end := add(start, packed.length)
        }
        uint256 ptr = start;
        uint64 previous = fromCursor;
        while (ptr < end) {
            uint256 w0;
            assembly ("memory-safe") {
                w0 := calldataload(ptr)
            }
            uint8 kind = uint8(w0 >> 248);
            uint256 size = uint8(_updateSizes >> (uint256(kind) << 3));
            if (size == 0) revert LiteUnknownUpdateKind(n, kind);
            if (ptr + size > end) revert LiteUpdateTruncated(n, ptr - start);
            uint64 cursor;
            assembly ("memory-safe") {
                cursor := and(shr(184, w0), 0xffffffffffffffff) // clean: used unmasked in assembly by the Lites
            }
            _checkCursor(n, cursor, previous, toCursor);
            previous = cursor;
            _applyUpdate(ptr, kind, cursor);
            unchecked {
                ptr += size;
                ++n;
            }
        }
    }

    /// @dev Applies the update of `kind` at calldata offset `ptr` (its size, kind and `cursor` are checked).
    function _applyUpdate(uint256 ptr, uint8 kind, uint64 cursor) internal virtual;

    /// @dev Reverts unless `cursor` is in `(previous, toCursor]`.
    function _checkCursor(uint256 index, uint64 cursor, uint64 previous, uint64 toCursor) internal pure {
        if (cursor <= previous) revert LiteUpdateCursorOutOfOrder(index, cursor, previous);
        if (cursor > toCursor) revert LiteUpdateCursorBeyondBatch(index, cursor, toCursor);
    }

    /// @dev Whether the mirror is live and its last home timestamp is at most `maxAge` seconds old.
    function _isFresh(uint256 maxAge) internal view returns (bool) {
        if (_paused) return false;
        uint256 homeTs = uint64(_watermark >> 128);
        if (homeTs == 0) return false;
        return block.timestamp <= homeTs || block.timestamp - homeTs <= maxAge;
    }

    function _structHash(BatchHeader calldata h) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                BATCH_TYPEHASH,
                h.sourceChainId,
                h.signerSetId,
                h.sequence,
                h.fromCursor,
                h.toCursor,
                h.homeTimestamp,
                h.count,
                h.updatesHash
            )
        );
    }

    function _hashCalldata(bytes calldata data) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, data.offset, data.length)
            h := keccak256(ptr, data.length)
        }
    }

    function _verifySignatures(bytes32 digest, bytes calldata signatures, uint256 required, uint64 setId)
        private
        view
    {
        uint256 len = signatures.length;
        if (len % 65 != 0) revert LiteSignaturesMalformed(len);
        if (len / 65 != required) revert LiteSignatureCountMismatch(len / 65, required);
        address previous;
        for (uint256 i; i < required; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                let p := add(signatures.offset, mul(i, 65))
                r := calldataload(p)
                s := calldataload(add(p, 32))
                v := byte(0, calldataload(add(p, 64)))
            }
            if (v != 27 && v != 28) revert LiteSignatureInvalidV(i, v);
            if (uint256(s) > HALF_ORDER) revert LiteSignatureHighS(i, s);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert LiteSignatureRecoveredZero(i);
            if (signer <= previous) revert LiteSignersNotAscending(i, signer, previous);
            if (_memberOf[signer] != setId) revert LiteNotSigner(i, signer, setId);
            previous = signer;
        }
    }

    function _recoverOne(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert LiteEquivocationBadSignature(signature);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert LiteEquivocationBadSignature(signature);
    }

    function _rotate(bytes calldata packed, uint32 count, uint64 fromCursor, uint64 toCursor, uint64 newSetId)
        private
    {
        if (packed.length < 3) revert LiteUpdateTruncated(0, 0);
        uint8 newThreshold = uint8(packed[1]);
        uint256 n = uint8(packed[2]);
        uint256 expected = 3 + 20 * n;
        if (packed.length < expected) revert LiteUpdateTruncated(0, 0);
        if (packed.length > expected) revert LiteRotationNotAlone(count, fromCursor, toCursor);
        address[] memory next = new address[](n);
        for (uint256 i; i < n; ++i) {
            next[i] = address(bytes20(packed[3 + 20 * i:23 + 20 * i]));
        }
        _setSigners(next, newThreshold, newSetId);
    }

    function _setSigners(address[] memory next, uint8 newThreshold, uint64 setId) private {
        uint256 n = next.length;
        if (newThreshold == 0 || newThreshold > n || 2 * uint256(newThreshold) <= n) {
            revert LiteInvalidThreshold(newThreshold, n);
        }
        for (uint256 i; i < n; ++i) {
            address signer = next[i];
            if (signer == address(0)) revert LiteZeroSigner(i);
            if (_memberOf[signer] == setId) revert LiteDuplicateSigner(signer);
            _memberOf[signer] = setId;
        }
        _signers = next;
        _threshold = newThreshold;
        emit SignerSetRotated(setId, next, newThreshold);
    }
}
// forge-lint: disable-end(unsafe-typecast)
