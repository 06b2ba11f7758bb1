// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IPactEscrow} from "./interfaces/IPactEscrow.sol";

/// @title PactEscrow
/// @notice Order escrow for one immutable token (USDT on mainnet). See {IPactEscrow} for the lifecycle.
/// @dev Gas layout. An order is two slots written once at funding (buyer|amount, seller|deliverBy|stateSince|
///      state|rejections|configId). Every hot path touches ONE contract-level slot, `_hot`: open escrow, accrued
///      fees, the current config id and its fee, and the pause flag. `fund` reads it (pause, config id) and adds
///      the amount to open escrow; a payout moves the amount out of open escrow and the fee into accrued fees in
///      the same slot, and takes the fee from it when the order uses the current config (no config read).
///      Liabilities = open escrow + accrued fees + total claimable (a separate slot, written only by deferred
///      payouts and claims); the token balance always covers them.
///      Reentrancy: order state is written before any token call; `_hot` is updated after a payout call, which
///      during a callback can only overstate liabilities (never allows taking owed funds).
contract PactEscrow is IPactEscrow, Ownable2Step, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPactEscrow
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(bytes32 orderId,address seller,address buyer,uint256 amount,uint64 deliverBy,bytes32 termsHash,uint64 expiry)"
    );
    /// @notice Longest review or arbiter window.
    uint256 public constant MAX_WINDOW = 365 days;
    /// @notice Rejections that turn into a dispute.
    uint8 public constant MAX_REJECTIONS = 3;

    uint256 private constant BPS = 10_000;

    /// @dev `_hot` layout: open escrow (bits 0..107), accrued fees (108..215), fee bps of the current config
    ///      (216..231), current config id (232..247), paused (248..255). Funding keeps open + fees < 2^108 and a
    ///      payout never increases open + fees (fee <= amount), so neither field can overflow into the next.
    uint256 private constant AMOUNT_MASK = (1 << 108) - 1;
    uint256 private constant FEES_SHIFT = 108;
    uint256 private constant FEE_BPS_SHIFT = 216;
    uint256 private constant CONFIG_SHIFT = 232;
    uint256 private constant PAUSED_SHIFT = 248;
    /// @dev Bit 7 of an order's `rejections` byte (bit 239 of its second slot): set when the order was disputed
    ///      before any proof was submitted, so the default ruling refunds the buyer. Never set outside DISPUTED;
    ///      `getOrder` masks it (rejections count 0..3 in bits 232..238).
    uint256 private constant NO_PROOF_BIT = 239;

    IERC20 private immutable _token;
    uint8 private immutable _decimals;
    uint16 private immutable _maxFeeBps;

    mapping(bytes32 orderId => Order) private _orders;
    /// @dev See the `_hot` layout above (slot 5).
    uint256 private _hot;
    /// @dev Sum of all claimable balances (liabilities not held as open escrow or fees).
    uint256 private _totalClaimable;
    mapping(uint16 configId => Config) private _configs;
    mapping(bytes32 orderId => Settlement) private _settlements;
    mapping(address account => uint256) private _claimable;
    address private _arbiter;
    address private _treasury;

    /// @param token_ The escrowed token (its `decimals()` is read here, never assumed).
    /// @param owner_ Initial owner (two-step transfers afterwards).
    /// @param arbiter_ Initial arbiter.
    /// @param treasury_ Fee recipient.
    /// @param maxFeeBps_ Immutable cap on the fee (<= 10 000).
    /// @param initial Settings snapshot 0.
    constructor(
        address token_,
        address owner_,
        address arbiter_,
        address treasury_,
        uint16 maxFeeBps_,
        Config memory initial
    ) Ownable(owner_) EIP712("PactEscrow", "1") {
        if (token_.code.length == 0) revert EscrowInvalidToken(token_);
        (bool ok, bytes memory data) = token_.staticcall(abi.encodeWithSignature("decimals()"));
        if (!ok || data.length < 32) revert EscrowInvalidToken(token_);
        uint256 dec = abi.decode(data, (uint256));
        if (dec > type(uint8).max) revert EscrowInvalidToken(token_);
        if (maxFeeBps_ > BPS) revert EscrowInvalidBps(maxFeeBps_);
        if (arbiter_ == address(0) || treasury_ == address(0)) revert EscrowZeroAddress();
        _token = IERC20(token_);
        _decimals = uint8(dec);
        _maxFeeBps = maxFeeBps_;
        _arbiter = arbiter_;
        _treasury = treasury_;
        emit ArbiterUpdated(address(0), arbiter_);
        emit TreasuryUpdated(address(0), treasury_);
        _setConfig(0, initial);
    }

    // ------------------------------------------------------------------------------------------------------
    // Funding
    // ------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPactEscrow
    function fund(bytes32 orderId, address seller, uint256 amount, uint64 deliverBy, bytes32 termsHash)
        external
    {
        _fund(orderId, msg.sender, seller, amount, deliverBy, termsHash);
    }

    /// @inheritdoc IPactEscrow
    function fundWithPermit(
        bytes32 orderId,
        address seller,
        uint256 amount,
        uint64 deliverBy,
        bytes32 termsHash,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        try IERC20Permit(address(_token))
            .permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {}
        catch {
            uint256 allowed = _token.allowance(msg.sender, address(this));
            if (allowed < amount) revert EscrowPermitFailed(allowed, amount);
        }
        _fund(orderId, msg.sender, seller, amount, deliverBy, termsHash);
    }

    /// @inheritdoc IPactEscrow
    function fundWithOffer(Offer calldata offer, bytes calldata signature) external {
        if (block.timestamp > offer.expiry) revert EscrowOfferExpired(offer.expiry, block.timestamp);
        if (offer.buyer != address(0) && offer.buyer != msg.sender) {
            revert EscrowOfferWrongBuyer(offer.buyer, msg.sender);
        }
        if (!SignatureChecker.isValidSignatureNow(offer.seller, hashOffer(offer), signature)) {
            revert EscrowInvalidSignature(offer.seller);
        }
        // `offer.buyer` is the caller or zero (open offer): the id's namespace is the one the seller signed for.
        _fund(offer.orderId, offer.buyer, offer.seller, offer.amount, offer.deliverBy, offer.termsHash);
    }

    // ------------------------------------------------------------------------------------------------------
    // Lifecycle
    // ------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPactEscrow
    function startDelivery(bytes32 orderId) external {
        Order storage o = _orders[orderId];
        (uint256 b, address seller, uint256 deliverBy, State state) = _loadB(o);
        _onlySeller(orderId, seller);
        if (state != State.ESCROWED) revert EscrowInvalidState(orderId, state);
        if (block.timestamp > deliverBy) {
            revert EscrowDeliveryDeadlinePassed(orderId, deliverBy, block.timestamp);
        }
        _storeState(o, b, State.DELIVERING);
        emit DeliveryStarted(orderId, msg.sender);
    }

    /// @dev Seller: ESCROWED | DELIVERING -> PROOF_SUBMITTED (while `now <= deliverBy`); the body emits the event. A
    ///      modifier rather than a private function: it is inlined in both proof entry points, so the hot path pays
    ///      no internal call (~40 gas: 32,252 -> 32,214 for `submitProof` with a 66-byte URI).
    modifier proves(bytes32 orderId) {
        Order storage o = _orders[orderId];
        uint256 b;
        assembly ("memory-safe") {
            b := sload(add(o.slot, 1))
        }
        _onlySeller(orderId, address(uint160(b)));
        uint256 state = uint8(b >> 224);
        // ESCROWED (1) or DELIVERING (2); `state - 1` wraps for NONE (unreachable: the seller check failed).
        unchecked {
            if (state - 1 > 1) revert EscrowInvalidState(orderId, State(state));
        }
        uint256 deliverBy = uint32(b >> 160);
        if (block.timestamp > deliverBy) {
            revert EscrowDeliveryDeadlinePassed(orderId, deliverBy, block.timestamp);
        }
        _storeState(o, b, State.PROOF_SUBMITTED);
        _;
    }

    /// @inheritdoc IPactEscrow
    function submitProof(bytes32 orderId, bytes32 proofHash, string calldata proofURI)
        external
        proves(orderId)
    {
        // emit ProofSubmitted(orderId, proofHash, proofURI), ABI-encoded by hand straight from calldata.
        bytes32 topic = ProofSubmitted.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let len := proofURI.length
            let padded := and(add(len, 31), not(31))
            mstore(add(add(m, 0x40), padded), 0) // zero the last data word's padding (scratch past the pointer)
            mstore(m, proofHash)
            mstore(add(m, 0x20), 0x40)
            mstore(add(m, 0x40), len)
            calldatacopy(add(m, 0x60), proofURI.offset, len)
            log2(m, add(0x60, padded), topic, orderId)
        }
    }

    /// @inheritdoc IPactEscrow
    function submitProofHash(bytes32 orderId, bytes32 proofHash) external proves(orderId) {
        // emit ProofSubmitted(orderId, proofHash, ""): the hash, the string's offset (0x40), length zero.
        bytes32 topic = ProofSubmitted.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, proofHash)
            mstore(add(m, 0x20), 0x40)
            mstore(add(m, 0x40), 0)
            log2(m, 0x60, topic, orderId)
        }
    }

    /// @inheritdoc IPactEscrow
    function startReview(bytes32 orderId) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlyBuyer(orderId, m);
        (State state,) = _effective(m);
        if (m.state != State.PROOF_SUBMITTED || state != State.PROOF_SUBMITTED) {
            revert EscrowInvalidState(orderId, state);
        }
        _setState(o, State.REVIEWING, block.timestamp);
        emit ReviewStarted(orderId, msg.sender, uint64(block.timestamp));
    }

    /// @inheritdoc IPactEscrow
    function accept(bytes32 orderId) external {
        Order storage o = _orders[orderId];
        (uint256 a, uint256 b) = _loadRaw(o);
        if (msg.sender != address(uint160(a))) {
            if (uint160(b) == 0) revert EscrowOrderNotFound(orderId);
            revert EscrowNotBuyer(orderId, msg.sender);
        }
        // Accepting is allowed from the stored PROOF_SUBMITTED or REVIEWING whatever the clock says: once the
        // review windows elapse the effective state is COMPLETED, whose payout is exactly this one.
        uint256 state = uint8(b >> 224);
        // PROOF_SUBMITTED (3) or REVIEWING (4); smaller values wrap around in `state - 3`.
        unchecked {
            if (state - 3 > 1) revert EscrowInvalidState(orderId, State(state));
        }
        // The fee of the order's snapshot: from `_hot` when it is the current config (the common case; `_hot`
        // is written by the payout anyway), else from the snapshot array.
        uint256 h = _hot;
        uint256 configId = b >> 240;
        uint256 feeBps = configId == uint16(h >> CONFIG_SHIFT)
            ? uint16(h >> FEE_BPS_SHIFT)
            : _configs[uint16(configId)].feeBps;
        _complete(orderId, o, a, b, feeBps);
    }

    /// @inheritdoc IPactEscrow
    function reject(bytes32 orderId, bytes32 reasonHash) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlyBuyer(orderId, m);
        State state = _materialize(orderId, o, m);
        if (state != State.PROOF_SUBMITTED && state != State.REVIEWING) {
            revert EscrowInvalidState(orderId, state);
        }
        uint8 rejections = m.rejections + 1;
        o.rejections = rejections;
        o.stateSince = uint32(block.timestamp);
        uint256 deliverBy = block.timestamp + _configs[m.configId].reviewWindow;
        if (deliverBy < m.deliverBy) deliverBy = m.deliverBy;
        if (deliverBy > type(uint32).max) deliverBy = type(uint32).max;
        o.deliverBy = uint32(deliverBy);
        if (rejections >= MAX_REJECTIONS) {
            o.state = State.DISPUTED;
            emit ProofRejected(orderId, msg.sender, reasonHash, rejections, uint64(deliverBy));
            emit DisputeOpened(orderId, msg.sender, bytes32(0));
        } else {
            o.state = State.DELIVERING;
            emit ProofRejected(orderId, msg.sender, reasonHash, rejections, uint64(deliverBy));
        }
    }

    /// @inheritdoc IPactEscrow
    function dispute(bytes32 orderId, bytes32 evidenceHash) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlyParty(orderId, m);
        State state = _materialize(orderId, o, m);
        bool noProof;
        if (state == State.DELIVERING) {
            if (block.timestamp > m.deliverBy) {
                revert EscrowDeliveryDeadlinePassed(orderId, m.deliverBy, block.timestamp);
            }
            // DELIVERING with no rejection: no proof was ever submitted (a rejected one still counts).
            noProof = m.rejections == 0;
        } else if (state != State.PROOF_SUBMITTED && state != State.REVIEWING) {
            revert EscrowInvalidState(orderId, state);
        }
        _setState(o, State.DISPUTED, block.timestamp);
        if (noProof) {
            // A second write of the same (warm, dirty) slot: ~0.2k, only on disputes before any proof.
            assembly ("memory-safe") {
                let slot := add(o.slot, 1)
                sstore(slot, or(sload(slot), shl(NO_PROOF_BIT, 1)))
            }
        }
        emit DisputeOpened(orderId, msg.sender, evidenceHash);
    }

    /// @inheritdoc IPactEscrow
    function resolve(bytes32 orderId, uint16 sellerBps) external {
        if (msg.sender != _arbiter) revert EscrowNotArbiter(msg.sender);
        if (sellerBps > BPS) revert EscrowInvalidBps(sellerBps);
        (Order storage o, Order memory m) = _get(orderId);
        _onlyDisputed(orderId, m);
        uint256 closesAt = uint256(m.stateSince) + _configs[m.configId].arbiterWindow;
        if (block.timestamp >= closesAt) {
            revert EscrowArbiterWindowClosed(orderId, closesAt, block.timestamp);
        }
        _resolve(orderId, o, m, sellerBps, Resolution.ARBITER);
    }

    /// @inheritdoc IPactEscrow
    function proposeSettlement(bytes32 orderId, uint16 sellerBps) external {
        if (sellerBps > BPS) revert EscrowInvalidBps(sellerBps);
        (, Order memory m) = _get(orderId);
        _onlyParty(orderId, m);
        _onlyDisputed(orderId, m);
        _settlements[orderId] = Settlement(msg.sender, sellerBps);
        emit SettlementProposed(orderId, msg.sender, sellerBps);
    }

    /// @inheritdoc IPactEscrow
    function acceptSettlement(bytes32 orderId, uint16 sellerBps) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlyParty(orderId, m);
        _onlyDisputed(orderId, m);
        Settlement memory p = _settlements[orderId];
        if (p.proposer == address(0)) revert EscrowNoSettlement(orderId);
        if (p.proposer == msg.sender) revert EscrowOwnSettlement(orderId, msg.sender);
        if (p.sellerBps != sellerBps) revert EscrowSettlementMismatch(orderId, p.sellerBps, sellerBps);
        delete _settlements[orderId];
        _resolve(orderId, o, m, sellerBps, Resolution.SETTLEMENT);
    }

    /// @inheritdoc IPactEscrow
    function cancel(bytes32 orderId) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlyBuyer(orderId, m);
        if (m.state != State.ESCROWED) revert EscrowInvalidState(orderId, m.state);
        _refund(orderId, o, m, RefundReason.BUYER_CANCELLED);
    }

    /// @inheritdoc IPactEscrow
    function refund(bytes32 orderId) external {
        (Order storage o, Order memory m) = _get(orderId);
        _onlySeller(orderId, m.seller);
        (State state,) = _effective(m);
        if (_isTerminal(state)) revert EscrowInvalidState(orderId, state);
        _refund(orderId, o, m, RefundReason.SELLER_REFUNDED);
    }

    /// @inheritdoc IPactEscrow
    function advance(bytes32 orderId) external {
        _advance(orderId, true);
    }

    /// @inheritdoc IPactEscrow
    function advanceMany(bytes32[] calldata orderIds) external returns (uint256 advanced) {
        for (uint256 i; i < orderIds.length; ++i) {
            if (_advance(orderIds[i], false)) ++advanced;
        }
    }

    // ------------------------------------------------------------------------------------------------------
    // Money out
    // ------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPactEscrow
    function claim(address to) external nonReentrant {
        if (to == address(0) || to == address(this)) revert EscrowInvalidRecipient(to);
        uint256 amount = _claimable[msg.sender];
        if (amount == 0) revert EscrowNothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        _totalClaimable -= amount;
        _token.safeTransfer(to, amount);
        emit Claimed(msg.sender, to, amount);
    }

    /// @inheritdoc IPactEscrow
    function withdrawFees() external nonReentrant {
        uint256 h = _hot;
        uint256 fees = (h >> FEES_SHIFT) & AMOUNT_MASK;
        if (fees == 0) revert EscrowNoFees();
        _hot = h & ~(AMOUNT_MASK << FEES_SHIFT);
        address to = _treasury;
        _token.safeTransfer(to, fees);
        emit FeesWithdrawn(to, msg.sender, fees);
    }

    // ------------------------------------------------------------------------------------------------------
    // Admin
    // ------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPactEscrow
    function setConfig(uint16 feeBps, uint32 reviewWindow, uint32 arbiterWindow, uint16 defaultSellerBps)
        external
        onlyOwner
    {
        uint256 next = uint256(uint16(_hot >> CONFIG_SHIFT)) + 1;
        if (next > type(uint16).max) revert EscrowConfigLimitReached(next);
        _setConfig(uint16(next), Config(feeBps, reviewWindow, arbiterWindow, defaultSellerBps));
    }

    /// @inheritdoc IPactEscrow
    function setArbiter(address newArbiter) external onlyOwner {
        if (newArbiter == address(0)) revert EscrowZeroAddress();
        emit ArbiterUpdated(_arbiter, newArbiter);
        _arbiter = newArbiter;
    }

    /// @inheritdoc IPactEscrow
    function setTreasury(address newTreasury) external onlyOwner {
        if (newTreasury == address(0)) revert EscrowZeroAddress();
        emit TreasuryUpdated(_treasury, newTreasury);
        _treasury = newTreasury;
    }

    /// @inheritdoc IPactEscrow
    function setPaused(bool paused_) external onlyOwner {
        uint256 flag = paused_ ? 1 : 0;
        _hot = (_hot & ~(uint256(0xff) << PAUSED_SHIFT)) | (flag << PAUSED_SHIFT);
        emit PausedSet(msg.sender, paused_);
    }

    /// @inheritdoc IPactEscrow
    function rescue(address token_, address to, uint256 amount) external onlyOwner nonReentrant {
        if (to == address(0)) revert EscrowZeroAddress();
        address t = address(_token);
        uint256 before = _selfBalance(t);
        if (token_ == t) {
            uint256 owed = liabilities();
            uint256 surplus = before > owed ? before - owed : 0;
            if (amount > surplus) revert EscrowRescueExceedsSurplus(amount, surplus);
        }
        IERC20(token_).safeTransfer(to, amount);
        // Guarded by the outcome, not by the address: a second entry point of the escrowed token (an upgraded
        // or proxied address sharing its balances) moves the same balance. The escrowed balance may only fall
        // while it stays at or above liabilities (read after the call).
        uint256 balance = _selfBalance(t);
        uint256 liab = liabilities();
        if (balance < liab && balance < before) revert EscrowRescueBreaksCover(balance, liab);
        emit Rescued(token_, to, amount);
    }

    // ------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPactEscrow
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IPactEscrow
    function tokenDecimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc IPactEscrow
    function maxFeeBps() external view returns (uint16) {
        return _maxFeeBps;
    }

    /// @inheritdoc IPactEscrow
    function arbiter() external view returns (address) {
        return _arbiter;
    }

    /// @inheritdoc IPactEscrow
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IPactEscrow
    function paused() external view returns (bool) {
        return _hot >> PAUSED_SHIFT != 0;
    }

    /// @inheritdoc IPactEscrow
    function currentConfigId() external view returns (uint16) {
        return uint16(_hot >> CONFIG_SHIFT);
    }

    /// @inheritdoc IPactEscrow
    function config(uint16 configId) external view returns (Config memory) {
        return _configs[configId];
    }

    /// @inheritdoc IPactEscrow
    function getOrder(bytes32 orderId) external view returns (Order memory m) {
        (, m) = _get(orderId);
        if (m.seller == address(0)) return m;
        (State state, uint256 since) = _effective(m);
        m.state = state;
        m.stateSince = uint32(since);
        m.rejections &= 0x7f; // the no-proof flag is internal
    }

    /// @inheritdoc IPactEscrow
    function nextDeadline(bytes32 orderId) external view returns (Action action, uint64 at) {
        (, Order memory m) = _get(orderId);
        State state = m.state;
        if (state == State.ESCROWED || state == State.DELIVERING) {
            return (Action.REFUND_EXPIRED, uint64(m.deliverBy) + 1);
        }
        // From the stored state: a review that started by the clock but is not yet written is still START_REVIEW
        // (due), because that is what `advance` performs next (and it completes too if both windows passed).
        if (state == State.PROOF_SUBMITTED) {
            return (Action.START_REVIEW, uint64(m.stateSince) + _configs[m.configId].reviewWindow);
        }
        if (state == State.REVIEWING) {
            return (Action.COMPLETE, uint64(m.stateSince) + _configs[m.configId].reviewWindow);
        }
        if (state == State.DISPUTED) {
            return (Action.DEFAULT_RULING, uint64(m.stateSince) + _configs[m.configId].arbiterWindow);
        }
        return (Action.NONE, 0);
    }

    /// @inheritdoc IPactEscrow
    function defaultRulingBps(bytes32 orderId) external view returns (uint16) {
        (, uint256 b) = _loadRaw(_orders[orderId]);
        if (uint8(b >> 224) != uint8(State.DISPUTED) || (b >> NO_PROOF_BIT) & 1 != 0) return 0;
        return _configs[uint16(b >> 240)].defaultSellerBps;
    }

    /// @inheritdoc IPactEscrow
    function settlementOf(bytes32 orderId) external view returns (Settlement memory s) {
        if (_orders[orderId].state == State.DISPUTED) s = _settlements[orderId];
    }

    /// @inheritdoc IPactEscrow
    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @inheritdoc IPactEscrow
    function accruedFees() external view returns (uint256) {
        return (_hot >> FEES_SHIFT) & AMOUNT_MASK;
    }

    /// @inheritdoc IPactEscrow
    function liabilities() public view returns (uint256) {
        uint256 h = _hot;
        return (h & AMOUNT_MASK) + ((h >> FEES_SHIFT) & AMOUNT_MASK) + _totalClaimable;
    }

    /// @inheritdoc IPactEscrow
    function hashOffer(Offer calldata offer) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(OFFER_TYPEHASH, offer)));
    }

    /// @inheritdoc IPactEscrow
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------

    /// @dev `idBuyer`: whose namespace the id must be in (the caller, or zero for an open offer).
    function _fund(
        bytes32 orderId,
        address idBuyer,
        address seller,
        uint256 amount,
        uint64 deliverBy,
        bytes32 termsHash
    ) private {
        uint256 h = _hot;
        if (h >> PAUSED_SHIFT != 0) revert EscrowPaused();
        if (uint256(orderId) >> 96 != uint160(idBuyer)) revert EscrowForeignOrderId(orderId, msg.sender);
        if (seller == address(0) || seller == msg.sender || seller == address(this)) {
            revert EscrowInvalidSeller(seller);
        }
        if (amount == 0 || amount > type(uint96).max) revert EscrowInvalidAmount(amount);
        if (deliverBy <= block.timestamp || deliverBy > type(uint32).max) {
            revert EscrowInvalidDeliverBy(deliverBy, block.timestamp);
        }
        Order storage o = _orders[orderId];
        // Effects before the pull: a reentrant `fund` of the same id fails, and open escrow only overstates
        // liabilities until the tokens arrive. Both slots are written whole (layout of `Order`).
        uint256 configId = uint16(h >> CONFIG_SHIFT);
        if (o.seller != address(0)) revert EscrowOrderExists(orderId);
        assembly ("memory-safe") {
            sstore(o.slot, or(caller(), shl(160, amount)))
            sstore(
                add(o.slot, 1),
                or(
                    or(seller, shl(160, deliverBy)),
                    or(shl(192, timestamp()), or(shl(224, 1), shl(240, configId)))
                )
            )
        }
        // Open escrow + accrued fees stay below 2^108 (2^12 maximal orders at once), see the `_hot` layout.
        // Unchecked: two 108-bit fields plus a 96-bit amount cannot overflow 256 bits.
        unchecked {
            if ((h & AMOUNT_MASK) + ((h >> FEES_SHIFT) & AMOUNT_MASK) + amount > AMOUNT_MASK) {
                revert EscrowInvalidAmount(amount);
            }
            _hot = h + amount;
        }
        _pull(amount);
        // emit OrderFunded(orderId, msg.sender, seller, amount, deliverBy, termsHash, uint16(configId))
        bytes32 topic = OrderFunded.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, amount)
            mstore(add(m, 0x20), deliverBy)
            mstore(add(m, 0x40), termsHash)
            mstore(add(m, 0x60), configId)
            log4(m, 0x80, topic, orderId, caller(), seller)
        }
    }

    /// @dev Pulls `amount` from `msg.sender` and checks the balance delta (fee-on-transfer tokens revert).
    function _pull(uint256 amount) private {
        address t = address(_token);
        uint256 before = _selfBalance(t);
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x23b872dd) // transferFrom(address,address,uint256)
            mstore(add(m, 0x20), caller())
            mstore(add(m, 0x40), address())
            mstore(add(m, 0x60), amount)
            let success := call(gas(), t, 0, add(m, 0x1c), 0x64, 0x00, 0x20)
            if iszero(success) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            // Same acceptance rule as OpenZeppelin's SafeERC20: no return data from a contract, or `true`.
            switch returndatasize()
            case 0 { ok := gt(extcodesize(t), 0) }
            default { ok := and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1)) }
        }
        if (!ok) revert SafeERC20.SafeERC20FailedOperation(t);
        uint256 afterwards = _selfBalance(t);
        uint256 received = afterwards > before ? afterwards - before : 0;
        if (received != amount) revert EscrowAmountMismatch(amount, received);
    }

    /// @dev `token.balanceOf(address(this))` without the high-level call overhead.
    function _selfBalance(address t) private view returns (uint256 bal) {
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231) // balanceOf(address)
            mstore(0x20, address())
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), t, 0x1c, 0x24, 0x00, 0x20))) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            bal := mload(0x00)
        }
    }

    /// @dev Pays the seller amount - fee and records the fee; `o` must be PROOF_SUBMITTED or REVIEWING.
    /// @dev `a`, `b`: the order's raw slots (see `_loadRaw`).
    function _complete(bytes32 orderId, Order storage o, uint256 a, uint256 b, uint256 feeBps) private {
        _storeState(o, b, State.COMPLETED);
        uint256 amount = a >> 160;
        uint256 fee;
        uint256 net;
        // Unchecked: amount < 2^96 and feeBps <= maxFeeBps <= 10 000, so fee <= amount.
        unchecked {
            fee = (amount * feeBps) / BPS;
            net = amount - fee;
        }
        _send(orderId, address(uint160(b)), net);
        _book(amount, fee);
        emit OrderCompleted(orderId, msg.sender, net, fee);
    }

    /// @dev A terminal payout of an order of `amount`: removes it from open escrow and adds `fee` to the accrued
    ///      fees (one SLOAD + SSTORE of `_hot`, after the token calls). Open escrow includes `amount` (the order
    ///      was open) and `fee <= amount`, so neither field under- or overflows.
    function _book(uint256 amount, uint256 fee) private {
        assembly ("memory-safe") {
            let v := sload(_hot.slot)
            sstore(_hot.slot, sub(add(v, shl(FEES_SHIFT, fee)), amount))
        }
    }

    /// @dev The order's two raw slots: `a` = buyer | amount << 160, `b` = seller | deliverBy << 160 |
    ///      stateSince << 192 | state << 224 | rejections << 232 | configId << 240.
    function _loadRaw(Order storage o) private view returns (uint256 a, uint256 b) {
        assembly ("memory-safe") {
            a := sload(o.slot)
            b := sload(add(o.slot, 1))
        }
    }

    function _refund(bytes32 orderId, Order storage o, Order memory m, RefundReason reason) private {
        _setState(o, State.REFUNDED, block.timestamp);
        _send(orderId, m.buyer, m.amount);
        _book(m.amount, 0);
        emit OrderRefunded(orderId, msg.sender, m.amount, reason);
    }

    function _resolve(bytes32 orderId, Order storage o, Order memory m, uint16 sellerBps, Resolution how)
        private
    {
        _setState(o, State.RESOLVED, block.timestamp);
        uint256 gross = (uint256(m.amount) * sellerBps) / BPS;
        uint256 fee = (gross * _configs[m.configId].feeBps) / BPS;
        uint256 net = gross - fee;
        uint256 toBuyer = m.amount - gross;
        _send(orderId, m.buyer, toBuyer);
        _send(orderId, m.seller, net);
        _book(m.amount, fee);
        emit OrderResolved(orderId, msg.sender, how, sellerBps, toBuyer, net, fee);
    }

    /// @dev Transfers `amount` to `to`, or credits as claimable what did not leave when the transfer fails (same
    ///      acceptance rule as OpenZeppelin's `trySafeTransfer`: the call succeeds and returns `true`, or nothing
    ///      from a contract). A failure is decided by the balance change, not the return value alone: a token that
    ///      moves the funds yet returns false is not credited twice. The balance read before the call costs ~0.5k
    ///      (it warms the escrow's balance slot the transfer then writes); the one after runs only on failure.
    function _send(bytes32 orderId, address to, uint256 amount) private {
        if (amount == 0) return;
        address t = address(_token);
        uint256 before = _selfBalance(t);
        bool ok;
        assembly ("memory-safe") {
            let fmp := mload(0x40)
            mstore(0x00, 0xa9059cbb) // transfer(address,uint256)
            mstore(0x20, and(to, 0xffffffffffffffffffffffffffffffffffffffff)) // may be dirty in assembly
            mstore(0x40, amount)
            ok := call(gas(), t, 0, 0x1c, 0x44, 0x00, 0x20)
            if ok {
                switch returndatasize()
                case 0 { ok := gt(extcodesize(t), 0) }
                default { ok := eq(mload(0x00), 1) }
            }
            mstore(0x40, fmp)
        }
        if (ok) return;
        uint256 afterwards = _selfBalance(t);
        if (afterwards < before) {
            uint256 moved = before - afterwards;
            if (moved >= amount) return; // it left the escrow: paid, whatever the return value said
            amount -= moved;
        }
        _claimable[to] += amount;
        _totalClaimable += amount;
        emit PayoutDeferred(orderId, to, amount);
    }

    /// @dev Performs the due automatic action; returns false (or reverts when `strict`) if none is due.
    function _advance(bytes32 orderId, bool strict) private returns (bool) {
        Order storage o = _orders[orderId];
        (uint256 a, uint256 b) = _loadRaw(o);
        State state = State(uint8(b >> 224));
        uint256 dueAt;
        if (state == State.ESCROWED || state == State.DELIVERING) {
            dueAt = uint256(uint32(b >> 160)) + 1;
            if (block.timestamp >= dueAt) {
                (, Order memory m) = _get(orderId);
                _refund(orderId, o, m, RefundReason.DELIVERY_EXPIRED);
                return true;
            }
        } else if (state == State.PROOF_SUBMITTED || state == State.REVIEWING) {
            Config memory c = _configs[uint16(b >> 240)];
            uint256 window = c.reviewWindow;
            dueAt = uint256(uint32(b >> 192)) + window;
            if (block.timestamp >= dueAt) {
                if (state == State.PROOF_SUBMITTED) {
                    emit ReviewStarted(orderId, msg.sender, uint64(dueAt));
                    if (block.timestamp < dueAt + window) {
                        _setState(o, State.REVIEWING, dueAt);
                        return true;
                    }
                }
                _complete(orderId, o, a, b, c.feeBps);
                return true;
            }
        } else if (state == State.DISPUTED) {
            Config memory c = _configs[uint16(b >> 240)];
            dueAt = uint256(uint32(b >> 192)) + c.arbiterWindow;
            if (block.timestamp >= dueAt) {
                delete _settlements[orderId];
                (, Order memory m) = _get(orderId);
                // A dispute opened before any proof refunds the buyer; one about a proof takes the snapshot's split.
                uint16 sellerBps = (b >> NO_PROOF_BIT) & 1 == 0 ? c.defaultSellerBps : 0;
                _resolve(orderId, o, m, sellerBps, Resolution.DEFAULT_RULING);
                return true;
            }
        }
        if (strict) {
            if (state == State.NONE) revert EscrowOrderNotFound(orderId);
            revert EscrowNothingDue(orderId, state, dueAt);
        }
        return false;
    }

    /// @dev Stored state with the review clock applied.
    function _effective(Order memory m) private view returns (State state, uint256 since) {
        state = m.state;
        since = m.stateSince;
        if (state == State.PROOF_SUBMITTED || state == State.REVIEWING) {
            uint256 window = _configs[m.configId].reviewWindow;
            if (state == State.PROOF_SUBMITTED && block.timestamp >= since + window) {
                state = State.REVIEWING;
                since += window;
            }
            if (state == State.REVIEWING && block.timestamp >= since + window) {
                state = State.COMPLETED;
                since += window;
            }
        }
    }

    /// @dev Writes an automatic PROOF_SUBMITTED -> REVIEWING that already happened by the clock, and returns
    ///      the effective state.
    function _materialize(bytes32 orderId, Order storage o, Order memory m) private returns (State) {
        (State state, uint256 since) = _effective(m);
        if (state == State.REVIEWING && m.state == State.PROOF_SUBMITTED) {
            _setState(o, State.REVIEWING, since);
            emit ReviewStarted(orderId, msg.sender, uint64(since));
        }
        return state;
    }

    function _setConfig(uint16 id, Config memory c) private {
        if (c.feeBps > _maxFeeBps) revert EscrowFeeTooHigh(c.feeBps, _maxFeeBps);
        if (c.reviewWindow == 0 || c.reviewWindow > MAX_WINDOW) revert EscrowInvalidWindow(c.reviewWindow);
        if (c.arbiterWindow == 0 || c.arbiterWindow > MAX_WINDOW) {
            revert EscrowInvalidWindow(c.arbiterWindow);
        }
        if (c.defaultSellerBps > BPS) revert EscrowInvalidBps(c.defaultSellerBps);
        _configs[id] = c;
        uint256 h = _hot & ~(uint256(0xffffffff) << FEE_BPS_SHIFT);
        _hot = h | (uint256(id) << CONFIG_SHIFT) | (uint256(c.feeBps) << FEE_BPS_SHIFT);
        emit ConfigUpdated(id, c.feeBps, c.reviewWindow, c.arbiterWindow, c.defaultSellerBps);
    }

    /// @dev The order's storage pointer and a memory copy (one copy site keeps the bytecode small).
    function _get(bytes32 orderId) private view returns (Order storage o, Order memory m) {
        o = _orders[orderId];
        m = o;
    }

    /// @dev Reads seller, deliverBy and state from the order's second slot with one SLOAD.
    function _loadB(Order storage o)
        private
        view
        returns (uint256 b, address seller, uint256 deliverBy, State state)
    {
        assembly ("memory-safe") {
            b := sload(add(o.slot, 1))
        }
        seller = address(uint160(b));
        deliverBy = uint32(b >> 160);
        state = State(uint8(b >> 224));
    }

    /// @dev Writes `state` and `stateSince = now` into the second slot whose current value `b` the caller holds.
    function _storeState(Order storage o, uint256 b, State state) private {
        assembly ("memory-safe") {
            let v := and(b, not(shl(192, 0xffffffffff)))
            sstore(add(o.slot, 1), or(v, or(shl(192, and(timestamp(), 0xffffffff)), shl(224, state))))
        }
    }

    /// @dev Writes `state` and `stateSince` (bits 192..231 of the second slot) with one SLOAD + SSTORE.
    function _setState(Order storage o, State state, uint256 since) private {
        assembly ("memory-safe") {
            let slot := add(o.slot, 1)
            let v := and(sload(slot), not(shl(192, 0xffffffffff)))
            sstore(slot, or(v, or(shl(192, and(since, 0xffffffff)), shl(224, state))))
        }
    }

    function _onlyBuyer(bytes32 orderId, Order memory m) private view {
        if (msg.sender != m.buyer) {
            if (m.seller == address(0)) revert EscrowOrderNotFound(orderId);
            revert EscrowNotBuyer(orderId, msg.sender);
        }
    }

    function _onlySeller(bytes32 orderId, address seller) private view {
        if (msg.sender != seller) {
            if (seller == address(0)) revert EscrowOrderNotFound(orderId);
            revert EscrowNotSeller(orderId, msg.sender);
        }
    }

    function _onlyParty(bytes32 orderId, Order memory m) private view {
        if (msg.sender != m.buyer && msg.sender != m.seller) {
            if (m.seller == address(0)) revert EscrowOrderNotFound(orderId);
            revert EscrowNotParty(orderId, msg.sender);
        }
    }

    function _onlyDisputed(bytes32 orderId, Order memory m) private pure {
        if (m.state != State.DISPUTED) revert EscrowInvalidState(orderId, m.state);
    }

    function _isTerminal(State state) private pure returns (bool) {
        return state == State.COMPLETED || state == State.REFUNDED || state == State.RESOLVED;
    }
}
