// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IIdentityLite} from "../interfaces/identity/IIdentityLite.sol";
import {LiteBase} from "./LiteBase.sol";

/// @title IdentityLite
/// @notice Threshold-signed mirror of the home chain's IdentityRegistry.
contract IdentityLite is IIdentityLite, LiteBase {
    /// @notice Kind byte of a SET_IDENTITY update.
    uint8 public constant KIND_SET_IDENTITY = 0x01;
    uint8 private constant STATUS_ACTIVE = 1;
    uint256 private constant SET_IDENTITY_SIZE = 83;

    /// @dev [0] `owner | cursor << 160 | entityType << 224 | status << 232`, [1] `wallet`.
    mapping(bytes32 id => uint256[2] packed) private _records;

    constructor(uint256 homeChainId_, address[] memory initialSigners, uint8 initialThreshold)
        LiteBase(
            "Pact IdentityLite",
            homeChainId_,
            initialSigners,
            initialThreshold,
            uint256(SET_IDENTITY_SIZE) << (8 * KIND_SET_IDENTITY)
        )
    {}

    /// @inheritdoc IIdentityLite
    function identity(bytes32 id) external view returns (IdentityRecord memory) {
        uint256 s0 = _records[id][0];
        if (s0 == 0) revert IdentityLiteUnknown(id);
        return IdentityRecord(
            address(uint160(s0)),
            address(uint160(_records[id][1])),
            uint8(s0 >> 224),
            uint8(s0 >> 232),
            uint64(s0 >> 160)
        );
    }

    /// @inheritdoc IIdentityLite
    function lastUpdated(bytes32 id) external view returns (uint64 cursor, uint64 homeBlock) {
        cursor = uint64(_records[id][0] >> 160);
        homeBlock = cursor >> 32;
    }

    /// @inheritdoc IIdentityLite
    function isActive(bytes32 id, address wallet, uint256 maxAge) external view returns (bool) {
        uint256 s0 = _records[id][0];
        return s0 != 0 && uint8(s0 >> 232) == STATUS_ACTIVE && address(uint160(_records[id][1])) == wallet
            && _isFresh(maxAge);
    }

    function _applyUpdate(uint256 ptr, uint8, uint64 cursor) internal override {
        assembly ("memory-safe") {
            let owner := shr(96, calldataload(add(ptr, 41)))
            let wallet := shr(96, calldataload(add(ptr, 61)))
            let ts := shr(240, calldataload(add(ptr, 81))) // entityType << 8 | status
            let s0 := or(or(owner, shl(160, cursor)), or(shl(224, shr(8, ts)), shl(232, and(ts, 0xff))))
            mstore(0x00, calldataload(add(ptr, 9)))
            mstore(0x20, _records.slot)
            let slot := keccak256(0x00, 0x40)
            sstore(slot, s0)
            sstore(add(slot, 1), wallet)
        }
    }
}
// forge-lint: disable-end(unsafe-typecast)
