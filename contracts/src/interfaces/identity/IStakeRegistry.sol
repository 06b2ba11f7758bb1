// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IStakeRegistry
/// @notice Home-chain stake bonds per identity, in one ERC-20 set at deploy. The identity's owner bonds (the
///         identity must be active), requests unbonding (the amount leaves the active bond at once and can be
///         withdrawn after `unbondDelay`; a new request restarts the delay for the whole pending amount) and
///         withdraws. The registry admin slashes, from the active bond first, then from the pending amount.
///
/// Rebuilding from events: every event carries the bond's post-state (`amount`, `unbonding`), which is
/// exactly what a StakingLite SET_BOND update copies. Amounts are the tokens actually received (fee-on-transfer
/// safe).
interface IStakeRegistry {
    /// @notice A bond.
    /// @param amount Active bonded amount.
    /// @param unbonding Amount requested for unbonding, withdrawable from `unlockAt`, still slashable.
    /// @param unlockAt When `unbonding` becomes withdrawable.
    struct Bond {
        uint96 amount;
        uint96 unbonding;
        uint64 unlockAt;
    }

    event Bonded(
        bytes32 indexed id, address indexed staker, uint96 received, uint96 amount, uint96 unbonding
    );
    event UnbondRequested(
        bytes32 indexed id, uint96 requested, uint96 amount, uint96 unbonding, uint64 unlockAt
    );
    event Withdrawn(
        bytes32 indexed id, address indexed to, uint96 withdrawn, uint96 amount, uint96 unbonding
    );
    event Slashed(
        bytes32 indexed id, address indexed recipient, uint96 slashed, uint96 amount, uint96 unbonding
    );

    /// @notice The amount is zero (or nothing arrived).
    error StakeRegistryZeroAmount();
    /// @notice `caller` does not own identity `id`.
    error StakeRegistryNotIdentityOwner(bytes32 id, address caller);
    /// @notice Identity `id` has status `status`, not active.
    error StakeRegistryIdentityNotActive(bytes32 id, uint8 status);
    /// @notice The bond (active plus unbonding) would exceed `type(uint96).max`.
    error StakeRegistryAmountOverflow(uint256 total);
    /// @notice `requested` exceeds the `available` amount.
    error StakeRegistryInsufficientBond(bytes32 id, uint256 requested, uint256 available);
    /// @notice The pending amount unlocks at `unlockAt`.
    error StakeRegistryUnbondingLocked(bytes32 id, uint64 unlockAt, uint256 timestamp);
    /// @notice Nothing is pending withdrawal.
    error StakeRegistryNothingToWithdraw(bytes32 id);
    /// @notice The slash recipient is the zero address.
    error StakeRegistryZeroRecipient();

    /// @notice Bonds `amount` tokens (pulled from the caller, the identity owner) to identity `id`.
    function bond(bytes32 id, uint96 amount) external;

    /// @notice Moves `amount` from the active bond to unbonding; withdrawable after `unbondDelay`.
    function requestUnbond(bytes32 id, uint96 amount) external;

    /// @notice Sends the whole unlocked unbonding amount to the identity owner (owner only).
    function withdraw(bytes32 id) external;

    /// @notice Slashes `amount` (active first, then unbonding) to `recipient` (registry admin only).
    function slash(bytes32 id, uint96 amount, address recipient) external;

    /// @notice The bond of `id`.
    function bondOf(bytes32 id) external view returns (Bond memory);

    /// @notice Whether `id` has at least `minAmount` (and more than zero) actively bonded; same rule as
    ///         `StakingLite.isBonded` without the staleness part.
    function isBonded(bytes32 id, uint256 minAmount) external view returns (bool);

    /// @notice The bond token.
    function token() external view returns (address);

    /// @notice The identity registry owners and statuses are read from.
    function identityRegistry() external view returns (address);

    /// @notice Seconds between an unbond request and its withdrawal.
    function unbondDelay() external view returns (uint64);
}
