// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IDIDRegistry} from "../interfaces/identity/IDIDRegistry.sol";

/// @title DIDRegistry
/// @notice Home-chain DID attributes, each account controlling its own.
contract DIDRegistry is IDIDRegistry {
    uint8 internal constant VALUE_IS_HASH = 0xff;

    mapping(address did => mapping(bytes32 name => Attribute)) private _attributes;

    /// @inheritdoc IDIDRegistry
    function setAttribute(bytes32 name, bytes calldata value, uint64 validity) external {
        if (validity == 0) revert DIDRegistryZeroValidity();
        uint256 validTo = block.timestamp + validity;
        if (validTo > type(uint64).max) revert DIDRegistryValidityTooLong(validity);
        bytes32 stored;
        uint8 valueInfo;
        if (value.length <= 32) {
            stored = bytes32(value);
            valueInfo = uint8(value.length);
        } else {
            stored = keccak256(value);
            valueInfo = VALUE_IS_HASH;
        }
        _attributes[msg.sender][name] = Attribute(stored, uint64(validTo), valueInfo, false);
        emit DIDAttributeSet(msg.sender, name, stored, valueInfo, uint64(validTo), value);
    }

    /// @inheritdoc IDIDRegistry
    function removeAttribute(bytes32 name) external {
        attribute(msg.sender, name);
        _attributes[msg.sender][name] = Attribute(0, 0, 0, true);
        emit DIDAttributeRemoved(msg.sender, name);
    }

    /// @inheritdoc IDIDRegistry
    function attribute(address did, bytes32 name) public view returns (Attribute memory a) {
        a = _attributes[did][name];
        if (a.removed) revert DIDRegistryAttributeRemoved(did, name);
        if (a.validTo == 0) revert DIDRegistryAttributeAbsent(did, name);
    }
}
// forge-lint: disable-end(unsafe-typecast)
