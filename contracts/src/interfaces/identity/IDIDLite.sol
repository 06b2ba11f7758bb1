// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILiteBase} from "./ILiteBase.sol";

/// @title IDIDLite
/// @notice Mirror of the home chain's DIDRegistry attributes. EIP-712 domain name "Pact DIDLite", version "1".
///
/// ## Packed update kinds (besides the shared rotation 0xff)
/// Kind 0x01 SET_ATTRIBUTE, 102 bytes (from `DIDAttributeSet`):
///
///     offset size field
///     0      1    kind = 0x01
///     1      8    cursor (uint64, big-endian)
///     9      20   did (address, the DID account)
///     29     32   name (bytes32)
///     61     32   value (bytes32: inline value left-aligned and zero-padded, or keccak256 of the raw value)
///     93     8    validTo (uint64, unix seconds on the home chain)
///     101    1    valueInfo (uint8: 0..32 = length of an inline value; 0xff = `value` is keccak256(raw))
///
/// Kind 0x02 REMOVE_ATTRIBUTE, 61 bytes (from `DIDAttributeRemoved`):
///
///     offset size field
///     0      1    kind = 0x02
///     1      8    cursor (uint64, big-endian)
///     9      20   did (address)
///     29     32   name (bytes32)
///
/// Storage: two slots per (did, name): `value`, then `validTo | cursor << 64 | valueInfo << 128 |
/// removed << 136`. A removal only rewrites the second slot (the stale value is never returned).
interface IDIDLite is ILiteBase {
    /// @notice A mirrored attribute.
    /// @param value Inline value (left-aligned) or keccak256 of the raw value.
    /// @param validTo Expiry (home unix seconds).
    /// @param valueInfo 0..32: inline length; 0xff: `value` is a hash.
    /// @param removed Whether the last home event removed the attribute.
    /// @param cursor Cursor of the home event that last changed the attribute (0: never seen).
    struct AttributeRecord {
        bytes32 value;
        uint64 validTo;
        uint8 valueInfo;
        bool removed;
        uint64 cursor;
    }

    /// @notice The attribute was never set.
    error DIDLiteAttributeAbsent(address did, bytes32 name);
    /// @notice The attribute was removed on the home chain (at `cursor`).
    error DIDLiteAttributeRemoved(address did, bytes32 name, uint64 cursor);
    /// @notice The attribute's validity ended at `validTo` (compared with this chain's `block.timestamp`).
    error DIDLiteAttributeExpired(address did, bytes32 name, uint64 validTo);

    /// @notice The live attribute; reverts with {DIDLiteAttributeAbsent}, {DIDLiteAttributeRemoved} or
    ///         {DIDLiteAttributeExpired}.
    function attribute(address did, bytes32 name) external view returns (AttributeRecord memory);

    /// @notice The stored attribute as is, never reverting (all zero if never set).
    function attributeState(address did, bytes32 name) external view returns (AttributeRecord memory);
}
