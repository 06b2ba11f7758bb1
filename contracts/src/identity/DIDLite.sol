// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IDIDLite} from "../interfaces/identity/IDIDLite.sol";
import {LiteBase} from "./LiteBase.sol";

/// @title DIDLite
/// @notice Threshold-signed mirror of the home chain's DIDRegistry attributes.
contract DIDLite is IDIDLite, LiteBase {
    /// @notice Kind byte of a SET_ATTRIBUTE update.
    uint8 public constant KIND_SET_ATTRIBUTE = 0x01;
    /// @notice Kind byte of a REMOVE_ATTRIBUTE update.
    uint8 public constant KIND_REMOVE_ATTRIBUTE = 0x02;
    uint256 private constant SET_SIZE = 102;
    uint256 private constant REMOVE_SIZE = 61;

    /// @dev [0] value, [1] `validTo | cursor << 64 | valueInfo << 128 | removed << 136`.
    mapping(address did => mapping(bytes32 name => uint256[2] packed)) private _attributes;

    constructor(uint256 homeChainId_, address[] memory initialSigners, uint8 initialThreshold)
        LiteBase(
            "Pact DIDLite",
            homeChainId_,
            initialSigners,
            initialThreshold,
            (uint256(SET_SIZE) << (8 * KIND_SET_ATTRIBUTE))
                | (uint256(REMOVE_SIZE) << (8 * KIND_REMOVE_ATTRIBUTE))
        )
    {}

    /// @inheritdoc IDIDLite
    function attribute(address did, bytes32 name) external view returns (AttributeRecord memory rec) {
        rec = attributeState(did, name);
        if (rec.cursor == 0) revert DIDLiteAttributeAbsent(did, name);
        if (rec.removed) revert DIDLiteAttributeRemoved(did, name, rec.cursor);
        if (rec.validTo < block.timestamp) revert DIDLiteAttributeExpired(did, name, rec.validTo);
    }

    /// @inheritdoc IDIDLite
    function attributeState(address did, bytes32 name) public view returns (AttributeRecord memory) {
        uint256[2] storage slots = _attributes[did][name];
        uint256 meta = slots[1];
        return AttributeRecord(
            bytes32(slots[0]), uint64(meta), uint8(meta >> 128), uint8(meta >> 136) != 0, uint64(meta >> 64)
        );
    }

    function _applyUpdate(uint256 ptr, uint8 kind, uint64 cursor) internal override {
        assembly ("memory-safe") {
            mstore(0x00, shr(96, calldataload(add(ptr, 9))))
            mstore(0x20, _attributes.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, calldataload(add(ptr, 29)))
            let slot := keccak256(0x00, 0x40)
            switch kind
            case 1 {
                let w := calldataload(add(ptr, 93)) // validTo (8) | valueInfo (1)
                sstore(slot, calldataload(add(ptr, 61)))
                sstore(add(slot, 1), or(or(shr(192, w), shl(64, cursor)), shl(128, and(shr(184, w), 0xff))))
            }
            default { sstore(add(slot, 1), or(shl(64, cursor), shl(136, 1))) }
        }
    }
}
// forge-lint: disable-end(unsafe-typecast)
