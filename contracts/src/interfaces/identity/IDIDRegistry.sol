// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IDIDRegistry
/// @notice Home-chain DID attributes. Every account is a DID (`did:pact:<chainId>:<address>`) and controls its
///         own attributes: named values with a validity. Values up to 32 bytes are stored inline (left-aligned,
///         zero-padded, with their length); longer values are stored as `keccak256(value)` and travel in full in
///         the {DIDAttributeSet} event only.
///
/// Rebuilding from events: an attribute is the last of {DIDAttributeSet} / {DIDAttributeRemoved} for its
/// (did, name) in log order; `DIDAttributeSet` carries the exact stored fields (`stored`, `valueInfo`,
/// `validTo`) that the DIDLite SET_ATTRIBUTE update copies.
interface IDIDRegistry {
    /// @notice A stored attribute.
    /// @param value Inline value (left-aligned) or keccak256 of the raw value.
    /// @param validTo Expiry, unix seconds.
    /// @param valueInfo 0..32: length of the inline value; 0xff: `value` is keccak256(raw).
    /// @param removed Whether it was removed.
    struct Attribute {
        bytes32 value;
        uint64 validTo;
        uint8 valueInfo;
        bool removed;
    }

    /// @notice `did` set `name`; `value` is the raw value, `stored`/`valueInfo` what is kept on chain.
    event DIDAttributeSet(
        address indexed did,
        bytes32 indexed name,
        bytes32 stored,
        uint8 valueInfo,
        uint64 validTo,
        bytes value
    );
    /// @notice `did` removed `name`.
    event DIDAttributeRemoved(address indexed did, bytes32 indexed name);

    /// @notice The validity is zero.
    error DIDRegistryZeroValidity();
    /// @notice `block.timestamp + validity` does not fit in a uint64.
    error DIDRegistryValidityTooLong(uint256 validity);
    /// @notice `did` never set `name`.
    error DIDRegistryAttributeAbsent(address did, bytes32 name);
    /// @notice `did` removed `name`.
    error DIDRegistryAttributeRemoved(address did, bytes32 name);

    /// @notice Sets attribute `name` of `msg.sender` to `value`, valid for `validity` seconds from now.
    function setAttribute(bytes32 name, bytes calldata value, uint64 validity) external;

    /// @notice Removes attribute `name` of `msg.sender` (it must be set).
    function removeAttribute(bytes32 name) external;

    /// @notice The attribute; reverts with {DIDRegistryAttributeAbsent} or {DIDRegistryAttributeRemoved}.
    ///         Expiry is not checked here: compare `validTo` with the time that matters to you.
    function attribute(address did, bytes32 name) external view returns (Attribute memory);
}
