// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";

import {PactEscrow} from "src/PactEscrow.sol";
import {IPactEscrow} from "src/interfaces/IPactEscrow.sol";
import {TetherLike, TetherUpgrade} from "test/utils/TetherLike.sol";
import {BlocklistToken, DoubleEntryToken, ReturnsFalseToken} from "test/utils/Tokens.sol";

/// @notice Drives the escrow through random lifecycles, donations, the escrow owner's every admin action and the
///         token's own quirks, and keeps ghost books rebuilt from the escrow's own terminal events. The token is one
///         of `Kind`: a recipient-blocklisting ERC-20; the Tether-faithful token (sender blocklist, fee switch,
///         `destroyBlackFunds` of parties, `deprecate` to an upgraded second entry point); a token with two entry
///         points; a token whose `transfer` fails or moves funds yet returns false.
contract EscrowHandler is CommonBase, StdCheats, StdUtils {
    enum Kind {
        BLOCKLIST,
        TETHER,
        DOUBLE_ENTRY,
        RETURNS_FALSE
    }

    PactEscrow public immutable escrow;
    address public immutable token;
    Kind public immutable kind;
    address public immutable owner;
    address public immutable arbiter;

    address[] public buyers;
    address[] public sellers;
    bytes32[] public ids;

    // Ghost books, rebuilt from events.
    mapping(bytes32 => uint256) public funded;
    mapping(bytes32 => uint256) public payouts;
    mapping(bytes32 => uint256) public buyerOut;
    mapping(bytes32 => uint256) public sellerOut;
    mapping(bytes32 => uint256) public feeOut;
    mapping(bytes32 => uint8) public lastState;
    mapping(bytes32 => uint8) public lastRejections;
    uint256 public donated;
    uint256 public rescued;

    /// @notice Set when a property checked during a call breaks (reported by the invariant suite).
    string public violation;

    bytes32 private constant COMPLETED_SIG = keccak256("OrderCompleted(bytes32,address,uint256,uint256)");
    bytes32 private constant REFUNDED_SIG = keccak256("OrderRefunded(bytes32,address,uint256,uint8)");
    bytes32 private constant RESOLVED_SIG =
        keccak256("OrderResolved(bytes32,address,uint8,uint16,uint256,uint256,uint256)");

    /// @dev `token_` must let this handler mint (the Tether-faithful token: owned by the handler).
    constructor(PactEscrow escrow_, address token_, Kind kind_, address owner_, address arbiter_) {
        escrow = escrow_;
        token = token_;
        kind = kind_;
        owner = owner_;
        arbiter = arbiter_;
        for (uint256 i; i < 3; ++i) {
            address b = makeAddr(string.concat("buyer", vm.toString(i)));
            buyers.push(b);
            sellers.push(makeAddr(string.concat("seller", vm.toString(i))));
            _mint(b, type(uint96).max);
            vm.prank(b);
            (bool ok,) = token.call(
                abi.encodeWithSignature("approve(address,uint256)", address(escrow), type(uint256).max)
            );
            require(ok, "approve");
        }
    }

    /// @notice The escrowed token's balance of `who` (through whatever entry point it has now).
    function balanceOf(address who) public view returns (uint256) {
        (bool ok, bytes memory data) = token.staticcall(abi.encodeWithSignature("balanceOf(address)", who));
        require(ok && data.length >= 32, "balanceOf");
        return abi.decode(data, (uint256));
    }

    function _mint(address to, uint256 amount) internal {
        (bool ok,) = token.call(abi.encodeWithSignature("mint(address,uint256)", to, amount));
        require(ok, "mint");
    }

    function idsLength() external view returns (uint256) {
        return ids.length;
    }

    function allIds() external view returns (bytes32[] memory) {
        return ids;
    }

    function actors() external view returns (address[] memory all) {
        all = new address[](buyers.length + sellers.length);
        for (uint256 i; i < buyers.length; ++i) {
            all[i] = buyers[i];
            all[buyers.length + i] = sellers[i];
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------------------

    function fund(uint256 buyerSeed, uint256 sellerSeed, uint256 amount, uint256 deliverIn) external {
        address b = buyers[buyerSeed % buyers.length];
        address s = sellers[sellerSeed % sellers.length];
        amount = bound(amount, 1, 1e15);
        uint64 deliverBy = uint64(block.timestamp + bound(deliverIn, 1, 30 days));
        bytes32 id = bytes32((uint256(uint160(b)) << 96) | uint96(ids.length));
        _begin();
        vm.prank(b);
        try escrow.fund(id, s, amount, deliverBy, bytes32(0)) {
            ids.push(id);
            funded[id] = amount;
        } catch {}
        _end();
    }

    function startDelivery(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.seller);
        try escrow.startDelivery(id) {} catch {}
        _end();
    }

    /// @dev Either proof entry point: with a URI, or hash-only (`submitProofHash`), picked by the seed.
    function submitProof(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.seller);
        if (seed & (1 << 128) == 0) {
            try escrow.submitProof(id, keccak256("proof"), "ipfs://proof") {} catch {}
        } else {
            try escrow.submitProofHash(id, keccak256("proof")) {} catch {}
        }
        _end();
    }

    function startReview(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.buyer);
        try escrow.startReview(id) {} catch {}
        _end();
    }

    function accept(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.buyer);
        try escrow.accept(id) {} catch {}
        _end();
    }

    function reject(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.buyer);
        try escrow.reject(id, bytes32(seed)) {} catch {}
        _end();
    }

    function dispute(uint256 seed, bool byBuyer) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(byBuyer ? o.buyer : o.seller);
        try escrow.dispute(id, bytes32(seed)) {} catch {}
        _end();
    }

    function resolve(uint256 seed, uint256 sellerBps) external {
        (bytes32 id,) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(arbiter);
        try escrow.resolve(id, uint16(bound(sellerBps, 0, 10_000))) {} catch {}
        _end();
    }

    function settle(uint256 seed, uint256 sellerBps, bool buyerProposes) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        uint16 bps = uint16(bound(sellerBps, 0, 10_000));
        _begin();
        vm.prank(buyerProposes ? o.buyer : o.seller);
        try escrow.proposeSettlement(id, bps) {} catch {}
        vm.prank(buyerProposes ? o.seller : o.buyer);
        try escrow.acceptSettlement(id, bps) {} catch {}
        _end();
    }

    function cancel(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.buyer);
        try escrow.cancel(id) {} catch {}
        _end();
    }

    function refund(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        if (id == 0) return;
        _begin();
        vm.prank(o.seller);
        try escrow.refund(id) {} catch {}
        _end();
    }

    function advance(uint256 seed) external {
        (bytes32 id,) = _pick(seed);
        if (id == 0) return;
        _begin();
        try escrow.advance(id) {} catch {}
        _end();
    }

    function advanceAll() external {
        _begin();
        escrow.advanceMany(ids);
        _end();
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 0, 10 days));
    }

    function donate(uint256 amount) external {
        amount = bound(amount, 1, 1e12);
        _mint(address(escrow), amount);
        donated += amount;
    }

    function rescueSurplus(uint256 amount) external {
        _rescue(token, amount);
    }

    /// @notice The owner's rescue through the token's OTHER address (Tether's upgraded contract once deprecated, the
    ///         double-entry token's second entry), for up to everything the escrow holds: only surplus may leave.
    function rescueOtherEntry(uint256 amount) external {
        address other;
        if (kind == Kind.TETHER && TetherLike(token).deprecated()) {
            other = address(TetherLike(token).upgradedAddress());
        }
        if (kind == Kind.DOUBLE_ENTRY) other = address(DoubleEntryToken(token).secondEntry());
        if (other == address(0)) return;
        _rescue(other, amount);
    }

    /// @dev Rescues `amount` (bounded by the whole balance + 1) of `via`, which moves the escrowed token's balance.
    function _rescue(address via, uint256 amount) internal {
        uint256 balance = balanceOf(address(escrow));
        uint256 owed = escrow.liabilities();
        uint256 surplus = balance > owed ? balance - owed : 0;
        amount = bound(amount, 0, via == token ? surplus + 1 : balance + 1);
        vm.prank(owner);
        try escrow.rescue(via, owner, amount) {
            rescued += amount;
            if (amount > surplus) violation = "rescue took more than the surplus";
        } catch {}
        _checkCover("rescue");
    }

    /// @notice The escrow owner's other admin actions: pause, arbiter, treasury (none may touch the balance).
    function adminAction(uint256 seed) external {
        vm.startPrank(owner);
        if (seed % 3 == 0) escrow.setPaused(seed & 8 != 0);
        else if (seed % 3 == 1) escrow.setArbiter(seed & 8 != 0 ? arbiter : owner);
        else escrow.setTreasury(address(uint160(seed >> 8) | 1));
        vm.stopPrank();
        _checkCover("admin action");
    }

    /// @notice The token's blocklist (recipient-blocking ERC-20, Tether's sender blocklist, incl. the escrow itself),
    ///         or a failing / lying `transfer`.
    function setBlocked(uint256 actorSeed, bool blocked) external {
        address a = actorSeed % 2 == 0
            ? buyers[(actorSeed / 2) % buyers.length]
            : sellers[(actorSeed / 2) % sellers.length];
        if (kind == Kind.BLOCKLIST) BlocklistToken(token).setBlocked(a, blocked);
        if (kind == Kind.TETHER) {
            if (actorSeed % 7 == 0) a = address(escrow); // the escrow cannot send: payouts deferred, claims fail
            if (blocked) TetherLike(token).addBlackList(a);
            else TetherLike(token).removeBlackList(a);
        }
        if (kind == Kind.RETURNS_FALSE) {
            if (actorSeed % 2 == 0) ReturnsFalseToken(token).setLie(blocked);
            else ReturnsFalseToken(token).setFailTransfers(blocked);
        }
    }

    /// @notice Tether's owner powers over its own token: the fee switch, burning a blocklisted PARTY's funds (never
    ///         the escrow's: that would be the token issuer confiscating escrowed funds, which no contract can
    ///         prevent), and `deprecate` to an upgraded contract (once).
    function tetherAdmin(uint256 seed) external {
        if (kind != Kind.TETHER) return;
        TetherLike t = TetherLike(token);
        uint256 op = seed % 4;
        if (op == 0) {
            t.setParams(19, 49);
        } else if (op == 1) {
            t.setParams(0, 0);
        } else if (op == 2) {
            address a = buyers[(seed / 4) % buyers.length];
            if (!t.isBlackListed(a)) t.addBlackList(a);
            t.destroyBlackFunds(a);
        } else if (!t.deprecated()) {
            t.deprecate(new TetherUpgrade(t));
        }
    }

    function claim(uint256 actorSeed) external {
        address a = actorSeed % 2 == 0
            ? buyers[(actorSeed / 2) % buyers.length]
            : sellers[(actorSeed / 2) % sellers.length];
        vm.prank(a);
        try escrow.claim(address(0xC1A1)) {} catch {}
    }

    function withdrawFees() external {
        try escrow.withdrawFees() {} catch {}
    }

    function setConfig(uint256 feeBps, uint256 review, uint256 arbiterWindow, uint256 defaultBps) external {
        vm.prank(owner);
        escrow.setConfig(
            uint16(bound(feeBps, 0, escrow.maxFeeBps())),
            uint32(bound(review, 1 hours, 5 days)),
            uint32(bound(arbiterWindow, 1 hours, 10 days)),
            uint16(bound(defaultBps, 0, 10_000))
        );
    }

    /// @notice Every mutator must revert on a terminal order and move no money.
    function pokeTerminal(uint256 seed) external {
        (bytes32 id, IPactEscrow.Order memory o) = _pick(seed);
        // Only orders whose terminal payout happened (an order that is COMPLETED by the clock alone may still
        // legitimately be paid out by `accept` or `advance`).
        if (id == 0 || payouts[id] == 0) return;
        uint256 balance = balanceOf(address(escrow));
        _begin();
        bool ok;
        vm.startPrank(o.seller);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.startDelivery, (id)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.submitProof, (id, bytes32(0), "")));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.submitProofHash, (id, bytes32(0))));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.refund, (id)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.dispute, (id, bytes32(0))));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.proposeSettlement, (id, 1)));
        _mustFail(ok);
        vm.stopPrank();
        vm.startPrank(o.buyer);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.startReview, (id)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.accept, (id)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.reject, (id, bytes32(0))));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.cancel, (id)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.acceptSettlement, (id, 1)));
        _mustFail(ok);
        vm.stopPrank();
        vm.prank(arbiter);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.resolve, (id, 1)));
        _mustFail(ok);
        (ok,) = address(escrow).call(abi.encodeCall(escrow.advance, (id)));
        _mustFail(ok);
        _end();
        if (balanceOf(address(escrow)) != balance) violation = "money moved on a terminal order";
    }

    // ------------------------------------------------------------------------------------------------------
    // Bookkeeping
    // ------------------------------------------------------------------------------------------------------

    function _pick(uint256 seed) internal view returns (bytes32 id, IPactEscrow.Order memory o) {
        if (ids.length == 0) return (bytes32(0), o);
        id = ids[seed % ids.length];
        o = escrow.getOrder(id);
    }

    function _checkCover(string memory what) internal {
        if (balanceOf(address(escrow)) < escrow.liabilities()) {
            violation = string.concat(what, ": the balance fell below liabilities");
        }
    }

    function _mustFail(bool ok) internal {
        if (ok) violation = "a mutator succeeded on a terminal order";
    }

    function _begin() internal {
        vm.recordLogs();
    }

    /// @dev Books terminal events and checks that every order only moved forward.
    function _end() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(escrow)) continue;
            bytes32 sig = logs[i].topics[0];
            bytes32 id = logs[i].topics.length > 1 ? logs[i].topics[1] : bytes32(0);
            if (sig == COMPLETED_SIG) {
                (, uint256 s, uint256 f) = abi.decode(logs[i].data, (address, uint256, uint256));
                _book(id, 0, s, f);
            } else if (sig == REFUNDED_SIG) {
                (, uint256 b,) = abi.decode(logs[i].data, (address, uint256, uint8));
                _book(id, b, 0, 0);
            } else if (sig == RESOLVED_SIG) {
                (,,, uint256 b, uint256 s, uint256 f) =
                    abi.decode(logs[i].data, (address, uint8, uint16, uint256, uint256, uint256));
                _book(id, b, s, f);
            }
        }
        for (uint256 i; i < ids.length; ++i) {
            _checkProgress(ids[i]);
        }
    }

    function _book(bytes32 id, uint256 b, uint256 s, uint256 f) internal {
        payouts[id] += 1;
        buyerOut[id] += b;
        sellerOut[id] += s;
        feeOut[id] += f;
    }

    function _checkProgress(bytes32 id) internal {
        IPactEscrow.Order memory o = escrow.getOrder(id);
        uint8 prev = lastState[id];
        uint8 next = uint8(o.state);
        if (prev != 0 && next != prev) {
            bool rejectedBack =
                next == uint8(IPactEscrow.State.DELIVERING) && o.rejections > lastRejections[id];
            if (_terminal(prev)) violation = "a terminal state changed";
            else if (_rank(next) < _rank(prev) && !rejectedBack) violation = "a state moved backwards";
        }
        lastState[id] = next;
        lastRejections[id] = o.rejections;
    }

    function _rank(uint8 s) internal pure returns (uint256) {
        if (s == uint8(IPactEscrow.State.DISPUTED)) return 5;
        if (_terminal(s)) return 6;
        return s; // ESCROWED 1, DELIVERING 2, PROOF_SUBMITTED 3, REVIEWING 4
    }

    function _terminal(uint8 s) internal pure returns (bool) {
        return s == uint8(IPactEscrow.State.COMPLETED) || s == uint8(IPactEscrow.State.REFUNDED)
            || s == uint8(IPactEscrow.State.RESOLVED);
    }
}
