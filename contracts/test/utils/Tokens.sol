// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice A standard OpenZeppelin ERC-20 with EIP-2612 permit and configurable decimals (6 or 18).
contract MockERC20 is ERC20Permit {
    uint8 private immutable _dec;

    constructor(string memory name_, uint8 decimals_) ERC20(name_, name_) ERC20Permit(name_) {
        _dec = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _dec;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice Returns `false` (never reverts) when a transfer cannot happen or when told to fail; told to lie, its
///         `transfer` moves the funds and still returns `false`.
contract ReturnsFalseToken {
    uint8 public constant decimals = 6;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    bool public failTransfers;
    bool public lie;

    function setLie(bool lie_) external {
        lie = lie_;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function setFailTransfers(bool fail) external {
        failTransfers = fail;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        if (failTransfers || balanceOf[msg.sender] < amount) return false;
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return !lie;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (failTransfers || balanceOf[from] < amount || allowance[from][msg.sender] < amount) return false;
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}

/// @notice Takes a 1% fee from every transfer (the recipient gets 99%).
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0xFEE), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice USDC-like: blocklisted addresses can neither send nor receive (transfers revert).
contract BlocklistToken is ERC20 {
    mapping(address => bool) public blocked;

    error Blocked(address account);

    constructor() ERC20("Blocklist USD", "BUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}

/// @notice Calls back into `target` with `data` on the next transfer out of `hookFrom` (once per arming).
contract ReentrantToken is ERC20 {
    address public hookFrom;
    address public target;
    bytes public data;
    bool public lastCallOk;
    bytes public lastReturn;

    constructor() ERC20("Reentrant", "REE") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address hookFrom_, address target_, bytes calldata data_) external {
        hookFrom = hookFrom_;
        target = target_;
        data = data_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && from == hookFrom && target != address(0)) {
            address t = target;
            target = address(0);
            (lastCallOk, lastReturn) = t.call(data);
        }
    }
}

/// @notice A token with two entry points to one set of balances (like a proxied token whose implementation also
///         accepts direct calls): `secondEntry().transfer` moves the caller's balance of this token.
contract DoubleEntryToken is ERC20 {
    SecondEntry public immutable secondEntry;

    constructor() ERC20("Double entry", "DBL") {
        secondEntry = new SecondEntry(this);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The second entry point's transfer, on behalf of its caller.
    function transferVia(address from, address to, uint256 amount) external returns (bool) {
        require(msg.sender == address(secondEntry), "only the second entry");
        _transfer(from, to, amount);
        return true;
    }
}

/// @notice The second address of {DoubleEntryToken}.
contract SecondEntry {
    DoubleEntryToken public immutable main;

    constructor(DoubleEntryToken main_) {
        main = main_;
    }

    function balanceOf(address who) external view returns (uint256) {
        return main.balanceOf(who);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return main.transferVia(msg.sender, to, amount);
    }
}
