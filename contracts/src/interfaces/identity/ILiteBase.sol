// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ILiteBase
/// @notice The part shared by every read-only mirror ("Lite") of a home-chain identity registry on a
///         satellite chain. A fleet of signer daemons watches the home chain, cuts its event stream into
///         contiguous batches and signs each batch with EIP-712; any relayer submits a batch with exactly
///         `threshold` signatures of the current signer set through {applyBatch}.
///
/// ## Cursor
/// A cursor is a position in the home chain's event stream, a `uint64`:
///
///     cursor = (homeBlockNumber << 32) | logIndex
///
/// where `logIndex` is the log's index within its block (the `logIndex` field of the JSON-RPC receipt,
/// counted over the whole block, not the transaction). Cursors are therefore strictly increasing along the
/// home chain's canonical log order. A batch covers the half-open interval `(fromCursor, toCursor]`;
/// `toCursor` may lie past the last update's cursor (e.g. `(finalizedBlock << 32) | 0xffffffff` to say
/// "everything up to and including block `finalizedBlock` is covered"). Cursor 0 is the position before any
/// event; a fresh Lite starts with `lastCursor == 0`.
///
/// ## Batch checks, in this order (each with its own error)
/// 1. not paused ({LitePaused});
/// 2. `sourceChainId` is the home chain id fixed at deploy ({LiteSourceChainMismatch});
/// 3. `signerSetId` is the current signer set ({LiteSignerSetMismatch});
/// 4. `sequence == lastSequence + 1` ({LiteSequenceMismatch});
/// 5. `fromCursor == lastCursor` ({LiteFromCursorMismatch}) and `toCursor >= fromCursor`
///    ({LiteCursorRangeInvalid});
/// 6. `homeTimestamp >= lastHomeTimestamp` ({LiteHomeTimestampRegressed});
/// 7. `updatesHash == keccak256(packedUpdates)` ({LiteUpdatesHashMismatch});
/// 8. signatures, per signature in order: total length a multiple of 65 ({LiteSignaturesMalformed}) and
///    exactly `threshold` of them ({LiteSignatureCountMismatch}); then for each: `v` ({LiteSignatureInvalidV}),
///    low `s` ({LiteSignatureHighS}), recovers ({LiteSignatureRecoveredZero}), above the previous signer
///    ({LiteSignersNotAscending}), a member of the current set ({LiteNotSigner});
/// 9. if the first byte is 0xff (rotation): `count == 1` and `toCursor == fromCursor` and nothing after the
///    rotation ({LiteRotationNotAlone}), complete ({LiteUpdateTruncated}), valid set ({LiteInvalidThreshold},
///    {LiteZeroSigner}, {LiteDuplicateSigner});
///    otherwise decoding, update by update: known kind ({LiteUnknownUpdateKind}); not truncated
///    ({LiteUpdateTruncated}, with the update's byte offset); cursor strictly greater than the previous
///    update's (the first one's than `fromCursor`) ({LiteUpdateCursorOutOfOrder}) and at most `toCursor`
///    ({LiteUpdateCursorBeyondBatch}); finally the number of decoded updates equals `count`
///    ({LiteCountMismatch}).
///
/// A record never goes back to an older cursor: every record stores the cursor of the update that last
/// wrote it, and a batch containing an out-of-order or already-covered cursor is REJECTED as a whole
/// (never partially applied, never skipped silently). Since `fromCursor` must equal the last `toCursor`,
/// every accepted update's cursor is greater than every cursor stored before.
///
/// ## Signatures
/// `signatures` is the concatenation of exactly `threshold` 65-byte signatures `r (32) ‖ s (32) ‖ v (1)`,
/// `v ∈ {27, 28}`, `s ≤ secp256k1n / 2`, ordered by strictly ascending recovered signer address (which
/// also rules out duplicates), each signer a member of the current set. Each signature is over the EIP-712
/// digest `keccak256(0x1901 ‖ domainSeparator ‖ structHash(header))` with
///
///     EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
///     name = "Pact IdentityLite" | "Pact DIDLite" | "Pact StakingLite", version = "1"
///     BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)
///
/// The domain separator is cached and recomputed when `block.chainid` differs from the deploy chain id.
///
/// ## Packed updates (common frame)
/// `packedUpdates` is the plain concatenation of `count` updates, no length prefix, no padding. Every update
/// starts with a 1-byte kind; integers are big-endian; addresses are 20 bytes; the remaining layout is fixed
/// per kind and documented by each Lite. Kind `0xff` (signer rotation) is shared by all Lites:
///
///     offset size field
///     0      1    kind = 0xff
///     1      1    newThreshold (uint8)
///     2      1    n = number of signers (uint8, >= 1)
///     3      20*n signers (addresses, any order, no zero address, no duplicates)
///
/// A rotation batch carries exactly one update (`count == 1`), the rotation, covers no home events
/// (`toCursor == fromCursor`), must satisfy `2 * newThreshold > n` and `newThreshold <= n`, is signed by the
/// current set and consumes its sequence number. The new set gets id `signerSetId + 1` and signs from the
/// next sequence on; batches signed by the old set then fail with {LiteSignerSetMismatch}.
///
/// ## Equivocation
/// A signer daemon must sign at most one digest per (Lite, sequence, signerSetId). Anyone can show two
/// signatures of the same current signer over two different batch digests with the same `sequence` and the
/// same `signerSetId` (via {reportEquivocation}); the Lite then pauses for good: {applyBatch} reverts with
/// {LitePaused} while the watermark views keep working. Recovery is a fresh deployment.
///
/// Why the signer set id is part of the key: any two histories of a Lite first diverge at a sequence where both
/// have the same signer set, so conflicting headers there are always reportable; while a batch signed for an
/// old set id after a rotation took its place can never apply, so re-signing that sequence for the new set id
/// (the normal way to recover a pipelined batch) is not equivocation. Signing, for one sequence and one set id,
/// both a rotation and an ordinary batch IS equivocation: daemons must not pipeline across a pending rotation
/// with the same set id.
interface ILiteBase {
    /// @notice The signed header of a batch. See the contract-level NatSpec for the meaning of each field.
    /// @param sourceChainId Chain id of the home chain the updates come from.
    /// @param signerSetId Id of the signer set that signs this batch (1 for the deploy-time set).
    /// @param sequence Batch number on this Lite, starting at 1, with no gaps.
    /// @param fromCursor Cursor of the previous batch's `toCursor` (0 for the first batch).
    /// @param toCursor Last home-chain position covered by this batch.
    /// @param homeTimestamp Timestamp of the home-chain block at `toCursor` (non-decreasing).
    /// @param count Number of packed updates.
    /// @param updatesHash `keccak256(packedUpdates)`.
    struct BatchHeader {
        uint256 sourceChainId;
        uint64 signerSetId;
        uint64 sequence;
        uint64 fromCursor;
        uint64 toCursor;
        uint64 homeTimestamp;
        uint32 count;
        bytes32 updatesHash;
    }

    /// @notice The mirror's progress, readable even when paused.
    struct Watermark {
        uint64 lastSequence;
        uint64 lastCursor;
        uint64 lastHomeTimestamp;
        uint64 signerSetId;
    }

    // ----------------------------------------------------------------- events

    /// @notice A batch was applied (exactly one per accepted batch, rotations included).
    event BatchApplied(
        uint64 indexed sequence,
        uint64 indexed signerSetId,
        uint64 fromCursor,
        uint64 toCursor,
        uint64 homeTimestamp,
        uint32 count,
        bytes32 updatesHash
    );

    /// @notice The signer set changed (deploy, or a rotation batch; the rotation batch also emits {BatchApplied}).
    event SignerSetRotated(uint64 indexed signerSetId, address[] signers, uint8 threshold);

    /// @notice `signer` signed two different digests for `sequence`; the Lite is now paused for good.
    event EquivocationReported(
        address indexed signer, uint64 indexed sequence, bytes32 digestA, bytes32 digestB, address reporter
    );

    // ----------------------------------------------------------------- errors

    /// @notice The Lite was paused by an equivocation proof.
    error LitePaused();
    /// @notice The header names another home chain.
    error LiteSourceChainMismatch(uint256 expected, uint256 actual);
    /// @notice The header names another signer set than the current one (e.g. signed before a rotation).
    error LiteSignerSetMismatch(uint64 current, uint64 actual);
    /// @notice The header's sequence is not `lastSequence + 1`.
    error LiteSequenceMismatch(uint64 expected, uint64 actual);
    /// @notice The header's `fromCursor` is not the last applied `toCursor`.
    error LiteFromCursorMismatch(uint64 expected, uint64 actual);
    /// @notice The header's `toCursor` is below its `fromCursor`.
    error LiteCursorRangeInvalid(uint64 fromCursor, uint64 toCursor);
    /// @notice The header's home timestamp is older than the last applied one.
    error LiteHomeTimestampRegressed(uint64 last, uint64 actual);
    /// @notice `keccak256(packedUpdates)` differs from the header's `updatesHash`.
    error LiteUpdatesHashMismatch(bytes32 declared, bytes32 computed);
    /// @notice The header's `count` differs from the number of decoded updates.
    error LiteCountMismatch(uint32 declared, uint256 decoded);
    /// @notice `signatures` is not a whole number of 65-byte signatures.
    error LiteSignaturesMalformed(uint256 length);
    /// @notice The number of signatures is not exactly the threshold.
    error LiteSignatureCountMismatch(uint256 provided, uint256 threshold);
    /// @notice Signature `index` has a `v` other than 27 or 28.
    error LiteSignatureInvalidV(uint256 index, uint8 v);
    /// @notice Signature `index` has `s` in the upper half of the curve order (malleable).
    error LiteSignatureHighS(uint256 index, bytes32 s);
    /// @notice Signature `index` recovers to the zero address.
    error LiteSignatureRecoveredZero(uint256 index);
    /// @notice Signature `index` recovers to `signer`, not above the previous signer (unsorted or duplicate).
    error LiteSignersNotAscending(uint256 index, address signer, address previous);
    /// @notice Signature `index` recovers to `signer`, not a member of signer set `signerSetId`.
    error LiteNotSigner(uint256 index, address signer, uint64 signerSetId);
    /// @notice Update `index` starts with an unknown kind byte.
    error LiteUnknownUpdateKind(uint256 index, uint8 kind);
    /// @notice Update `index` starting at byte `offset` runs past the end of `packedUpdates`.
    error LiteUpdateTruncated(uint256 index, uint256 offset);
    /// @notice Update `index` has a cursor not strictly above the previous update's (or `fromCursor`).
    error LiteUpdateCursorOutOfOrder(uint256 index, uint64 cursor, uint64 previous);
    /// @notice Update `index` has a cursor above the header's `toCursor`.
    error LiteUpdateCursorBeyondBatch(uint256 index, uint64 cursor, uint64 toCursor);
    /// @notice A rotation batch must hold exactly one update (the rotation) and cover no events.
    error LiteRotationNotAlone(uint32 count, uint64 fromCursor, uint64 toCursor);
    /// @notice The threshold is zero, above the set size, or not above half of it.
    error LiteInvalidThreshold(uint256 threshold, uint256 signerCount);
    /// @notice Signer `index` of a new set is the zero address.
    error LiteZeroSigner(uint256 index);
    /// @notice `signer` appears twice in a new set.
    error LiteDuplicateSigner(address signer);
    /// @notice An equivocation proof needs two headers with the same sequence.
    error LiteEquivocationSequenceMismatch(uint64 sequenceA, uint64 sequenceB);
    /// @notice An equivocation proof needs two headers with the same signer set id.
    error LiteEquivocationSignerSetMismatch(uint64 signerSetIdA, uint64 signerSetIdB);
    /// @notice An equivocation proof needs two different digests.
    error LiteEquivocationSameDigest(bytes32 digest);
    /// @notice The two signatures of an equivocation proof recover to different signers.
    error LiteEquivocationSignerMismatch(address signerA, address signerB);
    /// @notice An equivocation signature is not a single 65-byte signature or does not recover.
    error LiteEquivocationBadSignature(bytes signature);

    // ----------------------------------------------------------------- writes

    /// @notice Verifies and applies one batch of home-chain updates (or a signer rotation).
    /// @param header The signed header.
    /// @param packedUpdates The packed updates, `keccak256(packedUpdates) == header.updatesHash`.
    /// @param signatures Exactly `threshold` 65-byte signatures `r ‖ s ‖ v`, by ascending signer.
    function applyBatch(BatchHeader calldata header, bytes calldata packedUpdates, bytes calldata signatures)
        external;

    /// @notice Pauses the Lite for good if one current signer signed two different digests for one sequence and
    ///         one signer set id. Checks, in order: not paused, same sequence, same signer set id, different
    ///         digests, both signatures recover (65 bytes each) to the same address, a member of the current set.
    /// @param a First header.
    /// @param signatureA A 65-byte signature `r ‖ s ‖ v` over `batchDigest(a)`.
    /// @param b Second header, same sequence and signer set id.
    /// @param signatureB The same signer's signature over `batchDigest(b)`.
    function reportEquivocation(
        BatchHeader calldata a,
        bytes calldata signatureA,
        BatchHeader calldata b,
        bytes calldata signatureB
    ) external;

    // ----------------------------------------------------------------- views (work when paused)

    /// @notice The EIP-712 digest the signers sign for `header` on this Lite and chain.
    function batchDigest(BatchHeader calldata header) external view returns (bytes32);

    /// @notice The EIP-712 struct hash of `header` (without the domain).
    function batchStructHash(BatchHeader calldata header) external pure returns (bytes32);

    /// @notice The current EIP-712 domain separator (recomputed if the chain id changed).
    function domainSeparator() external view returns (bytes32);

    /// @notice Chain id of the home chain this Lite mirrors.
    function homeChainId() external view returns (uint256);

    /// @notice Sequence, cursor, home timestamp of the last applied batch and the current signer set id.
    function watermark() external view returns (Watermark memory);

    /// @notice Sequence of the last applied batch (0 before the first).
    function lastSequence() external view returns (uint64);

    /// @notice `toCursor` of the last applied batch (0 before the first).
    function lastCursor() external view returns (uint64);

    /// @notice `homeTimestamp` of the last applied batch (0 before the first).
    function lastHomeTimestamp() external view returns (uint64);

    /// @notice Id of the current signer set (1 at deploy).
    function signerSetId() external view returns (uint64);

    /// @notice Number of signatures a batch must carry.
    function threshold() external view returns (uint8);

    /// @notice The current signer set, in the order it was given.
    function signers() external view returns (address[] memory);

    /// @notice Whether `account` is in the current signer set.
    function isSigner(address account) external view returns (bool);

    /// @notice Whether an equivocation proof paused the Lite.
    function paused() external view returns (bool);
}
