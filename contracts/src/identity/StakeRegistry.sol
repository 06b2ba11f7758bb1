// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IIdentityRegistry} from "../interfaces/identity/IIdentityRegistry.sol";
import {IStakeRegistry} from "../interfaces/identity/IStakeRegistry.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title StakeRegistry
/// @notice Home-chain stake bonds per identity; the Ownable2Step owner is the slashing admin.
contract StakeRegistry is IStakeRegistry, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint8 internal constant STATUS_ACTIVE = 1;

    IERC20 private immutable _token;
    IIdentityRegistry private immutable _identities;
    uint64 private immutable _unbondDelay;

    mapping(bytes32 id => Bond) private _bonds;

    constructor(address token_, address identityRegistry_, uint64 unbondDelay_, address admin)
        Ownable(admin)
    {
        _token = IERC20(token_);
        _identities = IIdentityRegistry(identityRegistry_);
        _unbondDelay = unbondDelay_;
    }

    /// @inheritdoc IStakeRegistry
    function bond(bytes32 id, uint96 amount) external nonReentrant {
        if (amount == 0) revert StakeRegistryZeroAmount();
        IIdentityRegistry.Identity memory rec = _identities.identityOf(id);
        if (rec.owner != msg.sender) revert StakeRegistryNotIdentityOwner(id, msg.sender);
        if (rec.status != STATUS_ACTIVE) revert StakeRegistryIdentityNotActive(id, rec.status);
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received == 0) revert StakeRegistryZeroAmount();
        Bond storage b = _bonds[id];
        uint256 total = uint256(b.amount) + b.unbonding + received;
        if (total > type(uint96).max) revert StakeRegistryAmountOverflow(total);
        b.amount += uint96(received);
        emit Bonded(id, msg.sender, uint96(received), b.amount, b.unbonding);
    }

    /// @inheritdoc IStakeRegistry
    function requestUnbond(bytes32 id, uint96 amount) external {
        if (amount == 0) revert StakeRegistryZeroAmount();
        _requireOwner(id);
        Bond storage b = _bonds[id];
        if (amount > b.amount) revert StakeRegistryInsufficientBond(id, amount, b.amount);
        unchecked {
            b.amount -= amount;
        }
        b.unbonding += amount; // amount + unbonding is capped at uint96 max by bond()
        uint64 unlockAt = uint64(block.timestamp) + _unbondDelay;
        b.unlockAt = unlockAt;
        emit UnbondRequested(id, amount, b.amount, b.unbonding, unlockAt);
    }

    /// @inheritdoc IStakeRegistry
    function withdraw(bytes32 id) external nonReentrant {
        address to = _requireOwner(id);
        Bond storage b = _bonds[id];
        uint96 pending = b.unbonding;
        if (pending == 0) revert StakeRegistryNothingToWithdraw(id);
        if (block.timestamp < b.unlockAt) {
            revert StakeRegistryUnbondingLocked(id, b.unlockAt, block.timestamp);
        }
        b.unbonding = 0;
        b.unlockAt = 0;
        _token.safeTransfer(to, pending);
        emit Withdrawn(id, to, pending, b.amount, 0);
    }

    /// @inheritdoc IStakeRegistry
    function slash(bytes32 id, uint96 amount, address recipient) external onlyOwner nonReentrant {
        if (amount == 0) revert StakeRegistryZeroAmount();
        if (recipient == address(0)) revert StakeRegistryZeroRecipient();
        Bond storage b = _bonds[id];
        uint256 available = uint256(b.amount) + b.unbonding;
        if (amount > available) revert StakeRegistryInsufficientBond(id, amount, available);
        uint96 fromActive = amount <= b.amount ? amount : b.amount;
        unchecked {
            b.amount -= fromActive;
            b.unbonding -= amount - fromActive;
        }
        _token.safeTransfer(recipient, amount);
        emit Slashed(id, recipient, amount, b.amount, b.unbonding);
    }

    /// @inheritdoc IStakeRegistry
    function bondOf(bytes32 id) external view returns (Bond memory) {
        return _bonds[id];
    }

    /// @inheritdoc IStakeRegistry
    function isBonded(bytes32 id, uint256 minAmount) external view returns (bool) {
        uint256 amount = _bonds[id].amount;
        return amount != 0 && amount >= minAmount;
    }

    /// @inheritdoc IStakeRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStakeRegistry
    function identityRegistry() external view returns (address) {
        return address(_identities);
    }

    /// @inheritdoc IStakeRegistry
    function unbondDelay() external view returns (uint64) {
        return _unbondDelay;
    }

    function _requireOwner(bytes32 id) private view returns (address owner_) {
        owner_ = _identities.identityOf(id).owner;
        if (owner_ != msg.sender) revert StakeRegistryNotIdentityOwner(id, msg.sender);
    }
}
// forge-lint: disable-end(unsafe-typecast)
