// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title TestUSDT
/// @notice A local-chain stand-in for mainnet Tether USD (TetherToken at 0xdAC17F958D2ee523a2206206994597C13D831ec7)
///         that keeps the quirks integrations trip over:
///         - `transfer`, `transferFrom` and `approve` return nothing (not `bool`);
///         - `approve` from a non-zero allowance to another non-zero allowance reverts;
///         - an owner-managed blocklist: a blocklisted address cannot send (as `from` or as `msg.sender`);
///         - the owner can pause every transfer;
///         - a fee-on-transfer switch (`setParams`): the recipient receives `value - fee`, the owner the fee;
///         - an allowance of `type(uint256).max` is never decreased;
///         - decimals fixed at deploy (6 on mainnet; the deploy scripts default to 6);
///         - failures revert with empty revert data, like the 0.4.17 original.
/// @dev For tests and local chains only; the owner can mint, nothing here is production money.
///      `test/utils/TetherLike.sol` adds mainnet's `deprecate` (forwarding to an upgraded address).
contract TestUSDT {
    string public name;
    string public symbol;
    /// @notice Mainnet USDT declares `uint public decimals`: a uint256 getter, kept here.
    uint256 public immutable decimals;
    uint256 public totalSupply;
    address public owner;
    bool public paused;

    /// @notice Fee in basis points charged on every transfer (0 on mainnet today).
    uint256 public basisPointsRate;
    /// @notice Cap on the fee of one transfer, in token base units.
    uint256 public maximumFee;

    uint256 private constant MAX_UINT = type(uint256).max;

    mapping(address account => uint256) internal _balances;
    mapping(address holder => mapping(address spender => uint256)) internal _allowed;
    mapping(address account => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Issue(uint256 amount);
    event Redeem(uint256 amount);
    event Params(uint256 feeBasisPoints, uint256 maxFee);
    event Pause();
    event Unpause();
    event AddedBlackList(address user);
    event RemovedBlackList(address user);
    event DestroyedBlackFunds(address blackListedUser, uint256 balance);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner);
        _;
    }

    modifier whenNotPaused() {
        require(!paused);
        _;
    }

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    function balanceOf(address who) public view virtual returns (uint256) {
        return _balances[who];
    }

    function allowance(address holder, address spender) public view virtual returns (uint256) {
        return _allowed[holder][spender];
    }

    /// @notice Mainnet semantics: no return value; the sender must not be blocklisted.
    function transfer(address to, uint256 value) public virtual whenNotPaused {
        require(!isBlackListed[msg.sender]);
        _move(msg.sender, to, value);
    }

    /// @notice Mainnet semantics: no return value; `from` must not be blocklisted; a max allowance is
    ///         never decreased.
    function transferFrom(address from, address to, uint256 value) public virtual whenNotPaused {
        require(!isBlackListed[from]);
        uint256 allowed = _allowed[from][msg.sender];
        require(allowed >= value);
        if (allowed < MAX_UINT) {
            _allowed[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
    }

    /// @notice Mainnet semantics: no return value; changing a non-zero allowance to another non-zero
    ///         value reverts (set it to zero first).
    function approve(address spender, uint256 value) public virtual {
        require(!((value != 0) && (_allowed[msg.sender][spender] != 0)));
        _allowed[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    function _move(address from, address to, uint256 value) private {
        uint256 fee = (value * basisPointsRate) / 10_000;
        if (fee > maximumFee) fee = maximumFee;
        uint256 sendAmount = value - fee;
        uint256 fromBalance = _balances[from];
        require(fromBalance >= value);
        unchecked {
            _balances[from] = fromBalance - value;
        }
        _balances[to] += sendAmount;
        if (fee > 0) {
            _balances[owner] += fee;
            emit Transfer(from, owner, fee);
        }
        emit Transfer(from, to, sendAmount);
    }

    // ----- owner powers (all of them exist on mainnet USDT, `mint` is the test-chain convenience) -----

    /// @notice Mints new tokens to `to` (mainnet's `issue` mints to the owner only).
    function mint(address to, uint256 amount) public virtual onlyOwner {
        totalSupply += amount;
        _balances[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Mainnet `issue`: new tokens to the owner.
    function issue(uint256 amount) external onlyOwner {
        totalSupply += amount;
        _balances[owner] += amount;
        emit Issue(amount);
        emit Transfer(address(0), owner, amount);
    }

    /// @notice Mainnet `redeem`: burns tokens held by the owner.
    function redeem(uint256 amount) external onlyOwner {
        require(_balances[owner] >= amount);
        totalSupply -= amount;
        _balances[owner] -= amount;
        emit Redeem(amount);
        emit Transfer(owner, address(0), amount);
    }

    /// @notice Mainnet `setParams`: fee below 20 bps and at most 50 whole tokens per transfer.
    function setParams(uint256 newBasisPoints, uint256 newMaxFee) external onlyOwner {
        require(newBasisPoints < 20);
        require(newMaxFee < 50);
        basisPointsRate = newBasisPoints;
        maximumFee = newMaxFee * (10 ** decimals);
        emit Params(basisPointsRate, maximumFee);
    }

    function pause() external onlyOwner {
        paused = true;
        emit Pause();
    }

    function unpause() external onlyOwner {
        paused = false;
        emit Unpause();
    }

    function addBlackList(address user) external onlyOwner {
        isBlackListed[user] = true;
        emit AddedBlackList(user);
    }

    function removeBlackList(address user) external onlyOwner {
        isBlackListed[user] = false;
        emit RemovedBlackList(user);
    }

    /// @notice Mainnet `destroyBlackFunds`: burns a blocklisted holder's whole balance.
    function destroyBlackFunds(address user) external onlyOwner {
        require(isBlackListed[user]);
        uint256 dirtyFunds = _balances[user];
        _balances[user] = 0;
        totalSupply -= dirtyFunds;
        emit DestroyedBlackFunds(user, dirtyFunds);
        emit Transfer(user, address(0), dirtyFunds);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner != address(0)) {
            emit OwnershipTransferred(owner, newOwner);
            owner = newOwner;
        }
    }
}
