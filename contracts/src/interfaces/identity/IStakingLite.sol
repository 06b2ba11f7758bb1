// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILiteBase} from "./ILiteBase.sol";

/// @title IStakingLite
/// @notice Mirror of the home chain's StakeRegistry bonds. EIP-712 domain name "Pact StakingLite", version "1".
///
/// ## Packed update kinds (besides the shared rotation 0xff)
/// Kind 0x01 SET_BOND, 65 bytes; the post-state of the bond after the home event at `cursor`
/// (StakeRegistry events `Bonded`, `UnbondRequested`, `Withdrawn`, `Slashed` carry it):
///
///     offset size field
///     0      1    kind = 0x01
///     1      8    cursor (uint64, big-endian)
///     9      32   id (bytes32, identity id)
///     41     12   amount (uint96, active bond)
///     53     12   unbonding (uint96, amount waiting for withdrawal, still slashable)
///
/// Storage: one slot per id: `amount | unbonding << 96 | cursor << 192`.
interface IStakingLite is ILiteBase {
    /// @notice A mirrored bond.
    /// @param amount Active bonded amount (counts for {isBonded}).
    /// @param unbonding Amount requested for unbonding, not yet withdrawn.
    /// @param cursor Cursor of the home event that last changed the bond (0: never seen).
    struct BondRecord {
        uint96 amount;
        uint96 unbonding;
        uint64 cursor;
    }

    /// @notice The mirrored bond of identity `id` (all zero if never bonded).
    function bondOf(bytes32 id) external view returns (BondRecord memory);

    /// @notice Whether `id` has at least `minAmount` (and more than zero) actively bonded, according to a
    ///         mirror that is not paused and whose last home timestamp is at most `maxAge` seconds old.
    ///         Fails closed: returns false when stale or paused.
    function isBonded(bytes32 id, uint256 minAmount, uint256 maxAge) external view returns (bool);
}
