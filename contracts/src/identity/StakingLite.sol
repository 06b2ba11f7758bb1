// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IStakingLite} from "../interfaces/identity/IStakingLite.sol";
import {LiteBase} from "./LiteBase.sol";

/// @title StakingLite
/// @notice Threshold-signed mirror of the home chain's StakeRegistry bonds.
contract StakingLite is IStakingLite, LiteBase {
    /// @notice Kind byte of a SET_BOND update.
    uint8 public constant KIND_SET_BOND = 0x01;
    uint256 private constant SET_BOND_SIZE = 65;
    uint256 private constant MASK96 = 0xffffffffffffffffffffffff;

    /// @dev `amount | unbonding << 96 | cursor << 192`.
    mapping(bytes32 id => uint256 packed) private _bonds;

    constructor(uint256 homeChainId_, address[] memory initialSigners, uint8 initialThreshold)
        LiteBase(
            "Pact StakingLite",
            homeChainId_,
            initialSigners,
            initialThreshold,
            uint256(SET_BOND_SIZE) << (8 * KIND_SET_BOND)
        )
    {}

    /// @inheritdoc IStakingLite
    function bondOf(bytes32 id) public view returns (BondRecord memory) {
        uint256 rec = _bonds[id];
        return BondRecord(uint96(rec), uint96(rec >> 96), uint64(rec >> 192));
    }

    /// @inheritdoc IStakingLite
    function isBonded(bytes32 id, uint256 minAmount, uint256 maxAge) external view returns (bool) {
        uint256 amount = uint96(_bonds[id]);
        return amount != 0 && amount >= minAmount && _isFresh(maxAge);
    }

    function _applyUpdate(uint256 ptr, uint8, uint64 cursor) internal override {
        assembly ("memory-safe") {
            let amounts := calldataload(add(ptr, 41))
            let rec := or(or(shr(160, amounts), shl(96, and(shr(64, amounts), MASK96))), shl(192, cursor))
            mstore(0x00, calldataload(add(ptr, 9)))
            mstore(0x20, _bonds.slot)
            sstore(keccak256(0x00, 0x40), rec)
        }
    }
}
// forge-lint: disable-end(unsafe-typecast)
