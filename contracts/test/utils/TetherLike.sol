// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TestUSDT} from "src/test/TestUSDT.sol";

/// @notice TestUSDT (no return values, approve quirk, sender blocklist, `destroyBlackFunds`, fee switch) plus
///         mainnet Tether's `deprecate`: once deprecated, every ERC-20 call on this (legacy) address is forwarded to
///         the upgraded contract with the original caller, and `balanceOf` reads the upgraded contract's books. The
///         upgraded contract is then a SECOND ENTRY POINT to the same balances: `upgraded.transfer` called by a
///         holder moves what `legacy.balanceOf` reports. Written for the tests from the documented behaviour.
contract TetherLike is TestUSDT {
    /// @notice Where calls go once deprecated.
    TetherUpgrade public upgradedAddress;
    /// @notice Whether this address only forwards.
    bool public deprecated;

    event Deprecate(address newAddress);

    constructor() TestUSDT("Tether USD", "USDT", 6) {}

    /// @notice Mainnet `deprecate(address)`: forward everything to `upgraded` from now on.
    function deprecate(TetherUpgrade upgraded) external onlyOwner {
        deprecated = true;
        upgradedAddress = upgraded;
        emit Deprecate(address(upgraded));
    }

    /// @notice The legacy books, read by the upgraded contract when it first touches an account.
    function legacyBalanceOf(address who) external view returns (uint256) {
        return _balances[who];
    }

    /// @notice The legacy allowances, read lazily by the upgraded contract.
    function legacyAllowance(address holder, address spender) external view returns (uint256) {
        return _allowed[holder][spender];
    }

    function balanceOf(address who) public view override returns (uint256) {
        if (deprecated) return upgradedAddress.balanceOf(who);
        return super.balanceOf(who);
    }

    function allowance(address holder, address spender) public view override returns (uint256) {
        if (deprecated) return upgradedAddress.allowance(holder, spender);
        return super.allowance(holder, spender);
    }

    function transfer(address to, uint256 value) public override {
        if (!deprecated) return super.transfer(to, value);
        require(!paused && !isBlackListed[msg.sender]);
        upgradedAddress.transferByLegacy(msg.sender, to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override {
        if (!deprecated) return super.transferFrom(from, to, value);
        require(!paused && !isBlackListed[from]);
        upgradedAddress.transferFromByLegacy(msg.sender, from, to, value);
    }

    function approve(address spender, uint256 value) public override {
        if (!deprecated) return super.approve(spender, value);
        upgradedAddress.approveByLegacy(msg.sender, spender, value);
    }

    /// @notice Test convenience: once deprecated, new tokens appear in the upgraded contract's books.
    function mint(address to, uint256 amount) public override onlyOwner {
        if (!deprecated) return super.mint(to, amount);
        upgradedAddress.mintByLegacy(to, amount);
    }
}

/// @notice The upgraded token behind a deprecated {TetherLike}: takes each account's balance and allowances from the
///         legacy books on first touch, accepts the legacy contract's forwarded calls, and has ordinary ERC-20 entry
///         points of its own (returning `bool`), so holders can use either address.
contract TetherUpgrade {
    uint256 public constant decimals = 6;
    TetherLike public immutable legacy;

    mapping(address => uint256) private _balances;
    mapping(address => bool) private _migrated;
    mapping(address => mapping(address => uint256)) private _allowed;
    mapping(address => mapping(address => bool)) private _allowanceMigrated;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(TetherLike legacy_) {
        legacy = legacy_;
    }

    modifier onlyLegacy() {
        require(msg.sender == address(legacy), "only legacy");
        _;
    }

    function balanceOf(address who) public view returns (uint256) {
        return _migrated[who] ? _balances[who] : legacy.legacyBalanceOf(who);
    }

    function allowance(address holder, address spender) public view returns (uint256) {
        return _allowanceMigrated[holder][spender]
            ? _allowed[holder][spender]
            : legacy.legacyAllowance(holder, spender);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        _spend(from, msg.sender, value);
        _move(from, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        _setAllowance(msg.sender, spender, value);
        return true;
    }

    function transferByLegacy(address from, address to, uint256 value) external onlyLegacy {
        _move(from, to, value);
    }

    function transferFromByLegacy(address sender, address from, address to, uint256 value)
        external
        onlyLegacy
    {
        _spend(from, sender, value);
        _move(from, to, value);
    }

    function approveByLegacy(address holder, address spender, uint256 value) external onlyLegacy {
        _setAllowance(holder, spender, value);
    }

    function mintByLegacy(address to, uint256 amount) external onlyLegacy {
        _touch(to);
        _balances[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function _touch(address who) private {
        if (!_migrated[who]) {
            _balances[who] = legacy.legacyBalanceOf(who);
            _migrated[who] = true;
        }
    }

    function _move(address from, address to, uint256 value) private {
        _touch(from);
        _touch(to);
        require(_balances[from] >= value, "balance");
        _balances[from] -= value;
        _balances[to] += value;
        emit Transfer(from, to, value);
    }

    function _spend(address holder, address spender, uint256 value) private {
        uint256 allowed = allowance(holder, spender);
        require(allowed >= value, "allowance");
        if (allowed != type(uint256).max) _setAllowance(holder, spender, allowed - value);
    }

    function _setAllowance(address holder, address spender, uint256 value) private {
        _allowed[holder][spender] = value;
        _allowanceMigrated[holder][spender] = true;
        emit Approval(holder, spender, value);
    }
}
