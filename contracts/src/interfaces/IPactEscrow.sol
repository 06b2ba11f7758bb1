// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IPactEscrow
/// @notice USDT order escrow of Pact: a buyer locks `amount` of one immutable token for a seller; the order then
///         moves through the market's state machine and ends exactly once in COMPLETED, REFUNDED or RESOLVED.
/// @dev Storage keeps only what correctness needs (two slots per order at funding). Everything else (terms,
///      proofs, reasons, evidence) lives in events: an indexer can rebuild every order from events alone.
///
///      Lifecycle (the `State` enum order is part of the ABI):
///        ESCROWED -> DELIVERING (seller) -> PROOF_SUBMITTED (seller; also straight from ESCROWED)
///          -> REVIEWING (buyer, or automatically `reviewWindow` after the proof)
///          -> COMPLETED (buyer accepts, or automatically `reviewWindow` after review started).
///        Buyer rejects a proof -> DELIVERING (the third rejection -> DISPUTED).
///        Either party disputes from DELIVERING, PROOF_SUBMITTED, REVIEWING -> DISPUTED (clocks stop).
///        DISPUTED -> RESOLVED by the arbiter (within `arbiterWindow`), by anyone with the default ruling (after
///          `arbiterWindow`), or by a settlement proposed by one party, accepted by the other. The default ruling
///          gives the seller `defaultSellerBps` of the order's settings snapshot (fixed at funding) when the
///          dispute is about a submitted proof (opened from PROOF_SUBMITTED or REVIEWING, or by the third
///          rejection), and refunds the buyer in full when no proof was ever submitted (opened from DELIVERING
///          before any rejection): arbiter silence never pays a seller who never delivered.
///        Refunds: buyer cancels while ESCROWED; seller refunds before any terminal state; after `deliverBy`
///          with no proof anyone returns the funds (`advance`).
///      Order ids: the high 160 bits of an order id are its buyer's address (`bytes32(uint256(uint160(buyer)) << 96
///        | nonce)`, any 96-bit nonce), so nobody but the buyer can occupy or imitate an id handed out for that
///        buyer (`EscrowForeignOrderId`). An order taken from an open offer (`Offer.buyer == 0`) has an id whose
///        high bits are zero: only the seller's signature creates it, and taking it means funding its terms.
///      Token quirks: payouts are booked by what the escrow sent. When the token charges a fee on transfer
///        after funding (USDT's `setParams`), a recipient receives less than the payout event's amount; the
///        token's own `Transfer` log of the same transaction says what arrived (the indexer records it). Funding
///        refuses any fee (`EscrowAmountMismatch`). A payout whose `transfer` fails or returns false is decided by
///        the escrow's balance change: what did not leave becomes claimable, what left is never credited again.
///      No admin key can take escrowed funds: `rescue` reverts unless the escrowed token's balance still covers
///        `liabilities()` afterwards, whatever address the rescued token has (tokens with two entry points).
///      Time rules (all inclusive/exclusive choices are deliberate and tested at -1 s, exactly, +1 s):
///        - the seller may start or prove while `block.timestamp <= deliverBy`; the expiry refund is due when
///          `block.timestamp > deliverBy`;
///        - PROOF_SUBMITTED at `t` is REVIEWING from `t + reviewWindow`; REVIEWING since `r` is COMPLETED from
///          `r + reviewWindow`;
///        - the arbiter may rule while `block.timestamp < disputedAt + arbiterWindow`; the default ruling is due
///          from `disputedAt + arbiterWindow`.
interface IPactEscrow {
    // ------------------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------------------

    /// @notice Order states. NONE means the order id is unused.
    enum State {
        NONE,
        ESCROWED,
        DELIVERING,
        PROOF_SUBMITTED,
        REVIEWING,
        COMPLETED,
        REFUNDED,
        DISPUTED,
        RESOLVED
    }

    /// @notice The next automatic action `advance` would perform on an order.
    enum Action {
        NONE,
        START_REVIEW,
        COMPLETE,
        REFUND_EXPIRED,
        DEFAULT_RULING
    }

    /// @notice Why an order was refunded.
    enum RefundReason {
        BUYER_CANCELLED,
        SELLER_REFUNDED,
        DELIVERY_EXPIRED
    }

    /// @notice How a dispute ended.
    enum Resolution {
        ARBITER,
        DEFAULT_RULING,
        SETTLEMENT
    }

    /// @notice One order, exactly as stored (two slots), with time-based transitions applied by `getOrder`.
    /// @param buyer Who funded the order and receives refunds.
    /// @param amount Escrowed amount in token base units.
    /// @param seller Who delivers and receives the payout (minus the fee).
    /// @param deliverBy Last second (inclusive) at which the seller may start or submit a proof.
    /// @param stateSince When the current state was entered (the clock of the automatic transitions).
    /// @param state Current state.
    /// @param rejections How many proofs the buyer rejected (the third one opens a dispute; 0..3).
    /// @param configId Settings snapshot (see `config`) fixed at funding.
    struct Order {
        address buyer;
        uint96 amount;
        address seller;
        uint32 deliverBy;
        uint32 stateSince;
        State state;
        uint8 rejections;
        uint16 configId;
    }

    /// @notice An append-only settings snapshot; orders point at the one current when they were funded.
    /// @param feeBps Fee on the money paid to the seller, in basis points (never on refunds).
    /// @param reviewWindow Seconds of each automatic step (PROOF_SUBMITTED -> REVIEWING -> COMPLETED).
    /// @param arbiterWindow Seconds the arbiter has to rule once a dispute is opened.
    /// @param defaultSellerBps Seller's share (bps of the amount) under the default ruling.
    struct Config {
        uint16 feeBps;
        uint32 reviewWindow;
        uint32 arbiterWindow;
        uint16 defaultSellerBps;
    }

    /// @notice A seller's signed offer (EIP-712 `Offer`), taken by a buyer with `fundWithOffer`.
    /// @param orderId The order id the offer creates (usable once); its high 160 bits are `buyer` (zero for an
    ///        open offer), see "Order ids".
    /// @param seller The signer (EOA via ECDSA or contract via ERC-1271).
    /// @param buyer The only buyer allowed to take the offer, or zero for anyone.
    /// @param amount Amount to escrow.
    /// @param deliverBy Delivery deadline of the order.
    /// @param termsHash Hash of the off-chain terms.
    /// @param expiry Last second (inclusive) at which the offer can be taken.
    struct Offer {
        bytes32 orderId;
        address seller;
        address buyer;
        uint256 amount;
        uint64 deliverBy;
        bytes32 termsHash;
        uint64 expiry;
    }

    /// @notice A pending settlement proposal on a disputed order.
    struct Settlement {
        address proposer;
        uint16 sellerBps;
    }

    // ------------------------------------------------------------------------------------------------------
    // Events (order id always indexed; `actor` is `msg.sender` of the transaction that caused the change, and
    // is omitted only where it is always the same party: `OrderFunded` (buyer), `ProofSubmitted` (seller))
    // ------------------------------------------------------------------------------------------------------

    /// @notice An order was funded (-> ESCROWED). `configId` is the order's settings snapshot: its values are
    ///         those of the `ConfigUpdated` event with the same id (emitted for every snapshot, snapshot 0
    ///         included, in the deployment transaction), so events alone rebuild every order; `config(configId)`
    ///         returns the same values.
    event OrderFunded(
        bytes32 indexed orderId,
        address indexed buyer,
        address indexed seller,
        uint256 amount,
        uint64 deliverBy,
        bytes32 termsHash,
        uint16 configId
    );

    /// @notice The seller started delivering (ESCROWED -> DELIVERING).
    event DeliveryStarted(bytes32 indexed orderId, address actor);

    /// @notice The seller submitted a proof (-> PROOF_SUBMITTED). No `actor` field: only the order's seller
    ///         (`OrderFunded.seller`) can submit a proof, so the actor is always that seller.
    event ProofSubmitted(bytes32 indexed orderId, bytes32 proofHash, string proofURI);

    /// @notice Review started (-> REVIEWING), by the buyer or automatically; `startedAt` is the review clock
    ///         (for an automatic start: proof time + review window, possibly earlier than the block time).
    event ReviewStarted(bytes32 indexed orderId, address actor, uint64 startedAt);

    /// @notice The buyer rejected a proof (-> DELIVERING, or DISPUTED on the third rejection). The delivery
    ///         deadline becomes `max(deliverBy, now + reviewWindow)` so the seller can deliver again.
    event ProofRejected(
        bytes32 indexed orderId, address actor, bytes32 reasonHash, uint8 rejections, uint64 deliverBy
    );

    /// @notice A dispute was opened (-> DISPUTED); `evidenceHash` is zero when opened by the third rejection.
    event DisputeOpened(bytes32 indexed orderId, address actor, bytes32 evidenceHash);

    /// @notice A party proposed a settlement giving the seller `sellerBps` of the amount.
    event SettlementProposed(bytes32 indexed orderId, address actor, uint16 sellerBps);

    /// @notice Terminal: the seller was paid (-> COMPLETED). Buyer out is zero; seller out + fee = amount.
    ///         Amounts here and in `OrderRefunded`, `OrderResolved` and `Claimed` are what the escrow sent: a token
    ///         with a fee on transfer credits the recipient less (see the token's `Transfer` log of the same
    ///         transaction); a deferred part is in `PayoutDeferred`.
    event OrderCompleted(bytes32 indexed orderId, address actor, uint256 sellerAmount, uint256 feeAmount);

    /// @notice Terminal: the buyer got everything back (-> REFUNDED). No fee on refunds.
    event OrderRefunded(bytes32 indexed orderId, address actor, uint256 buyerAmount, RefundReason reason);

    /// @notice Terminal: a dispute ended (-> RESOLVED). buyerAmount + sellerAmount + feeAmount = amount.
    event OrderResolved(
        bytes32 indexed orderId,
        address actor,
        Resolution resolution,
        uint16 sellerBps,
        uint256 buyerAmount,
        uint256 sellerAmount,
        uint256 feeAmount
    );

    /// @notice A payout transfer failed (e.g. blocklisted recipient); `amount` (what did not leave the escrow) is now
    ///         claimable by `account`.
    event PayoutDeferred(bytes32 indexed orderId, address indexed account, uint256 amount);

    /// @notice `account` withdrew `amount` of its claimable balance to `to`.
    event Claimed(address indexed account, address indexed to, uint256 amount);

    /// @notice Accrued fees were sent to the treasury.
    event FeesWithdrawn(address indexed treasury, address actor, uint256 amount);

    /// @notice A new settings snapshot became current for new orders.
    event ConfigUpdated(
        uint16 indexed configId,
        uint16 feeBps,
        uint32 reviewWindow,
        uint32 arbiterWindow,
        uint16 defaultSellerBps
    );

    /// @notice The arbiter changed.
    event ArbiterUpdated(address indexed previousArbiter, address indexed newArbiter);

    /// @notice The treasury changed.
    event TreasuryUpdated(address indexed previousTreasury, address indexed newTreasury);

    /// @notice New funding was paused or unpaused (exits are never paused).
    event PausedSet(address actor, bool paused);

    /// @notice Surplus (never a liability) was taken out; for another token, anything the escrow held of it.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    // ------------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------------

    /// @notice The order id is already used.
    error EscrowOrderExists(bytes32 orderId);
    /// @notice The order id's high 160 bits are not the funding buyer (nor zero for an open offer).
    error EscrowForeignOrderId(bytes32 orderId, address buyer);
    /// @notice No order has this id.
    error EscrowOrderNotFound(bytes32 orderId);
    /// @notice The order's (effective) state does not allow this call.
    error EscrowInvalidState(bytes32 orderId, State state);
    /// @notice Only the order's buyer may call this.
    error EscrowNotBuyer(bytes32 orderId, address caller);
    /// @notice Only the order's seller may call this.
    error EscrowNotSeller(bytes32 orderId, address caller);
    /// @notice Only the order's buyer or seller may call this.
    error EscrowNotParty(bytes32 orderId, address caller);
    /// @notice Only the arbiter may call this.
    error EscrowNotArbiter(address caller);
    /// @notice The seller is zero or the buyer itself.
    error EscrowInvalidSeller(address seller);
    /// @notice The amount is zero or does not fit in 96 bits, or open escrow + accrued fees would reach 2^108.
    error EscrowInvalidAmount(uint256 amount);
    /// @notice `deliverBy` is not in the future or does not fit in 32 bits.
    error EscrowInvalidDeliverBy(uint256 deliverBy, uint256 timestamp);
    /// @notice The escrow received a different amount than requested (fee-on-transfer tokens are refused).
    error EscrowAmountMismatch(uint256 expected, uint256 received);
    /// @notice New funding is paused.
    error EscrowPaused();
    /// @notice The delivery deadline has passed.
    error EscrowDeliveryDeadlinePassed(bytes32 orderId, uint256 deliverBy, uint256 timestamp);
    /// @notice Nothing is due on this order yet (`dueAt` is zero when nothing will ever be due).
    error EscrowNothingDue(bytes32 orderId, State state, uint256 dueAt);
    /// @notice The arbiter's window is over (the default ruling applies).
    error EscrowArbiterWindowClosed(bytes32 orderId, uint256 closedAt, uint256 timestamp);
    /// @notice A share in basis points above 10 000.
    error EscrowInvalidBps(uint256 bps);
    /// @notice The fee exceeds the immutable cap.
    error EscrowFeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice A window is zero or longer than `MAX_WINDOW`.
    error EscrowInvalidWindow(uint256 window);
    /// @notice A zero address where one is required.
    error EscrowZeroAddress();
    /// @notice Claims cannot be sent to the zero address or to the escrow itself.
    error EscrowInvalidRecipient(address to);
    /// @notice The token has no code or no readable `decimals()`.
    error EscrowInvalidToken(address token);
    /// @notice The append-only settings array is full.
    error EscrowConfigLimitReached(uint256 configId);
    /// @notice No settlement proposal is pending on the order.
    error EscrowNoSettlement(bytes32 orderId);
    /// @notice The accepted split differs from the proposed one.
    error EscrowSettlementMismatch(bytes32 orderId, uint16 proposedSellerBps, uint16 acceptedSellerBps);
    /// @notice A party tried to accept its own settlement proposal.
    error EscrowOwnSettlement(bytes32 orderId, address caller);
    /// @notice The offer expired.
    error EscrowOfferExpired(uint256 expiry, uint256 timestamp);
    /// @notice The offer is reserved for another buyer.
    error EscrowOfferWrongBuyer(address buyer, address caller);
    /// @notice The signature is not the seller's.
    error EscrowInvalidSignature(address seller);
    /// @notice The permit failed and the allowance does not cover the amount.
    error EscrowPermitFailed(uint256 allowance, uint256 amount);
    /// @notice The account has nothing to claim.
    error EscrowNothingToClaim(address account);
    /// @notice No fees have accrued.
    error EscrowNoFees();
    /// @notice A rescue of the escrow token above the surplus.
    error EscrowRescueExceedsSurplus(uint256 amount, uint256 surplus);
    /// @notice A rescue would leave the escrowed token's balance below liabilities (or lower it while below).
    error EscrowRescueBreaksCover(uint256 balance, uint256 liabilities);

    // ------------------------------------------------------------------------------------------------------
    // Funding
    // ------------------------------------------------------------------------------------------------------

    /// @notice Funds a new order from `msg.sender`, pulling exactly `amount` (balance delta is checked).
    /// @param orderId Unused id whose high 160 bits are `msg.sender` (the API's order id), see "Order ids".
    /// @param seller Who delivers (not zero, not the buyer).
    /// @param amount Amount in token base units (1 .. 2^96-1; open escrow + accrued fees stay below 2^108).
    /// @param deliverBy Delivery deadline (unix seconds, in the future, < 2^32).
    /// @param termsHash Hash of the off-chain terms (event only).
    function fund(bytes32 orderId, address seller, uint256 amount, uint64 deliverBy, bytes32 termsHash)
        external;

    /// @notice `fund` after an EIP-2612 permit of `amount`; a permit already used (front-run) is tolerated when
    ///         the allowance suffices.
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
    ) external;

    /// @notice Funds the order described by a seller's signed offer (ECDSA or ERC-1271); `msg.sender` is buyer.
    function fundWithOffer(Offer calldata offer, bytes calldata signature) external;

    // ------------------------------------------------------------------------------------------------------
    // Lifecycle
    // ------------------------------------------------------------------------------------------------------

    /// @notice Seller: ESCROWED -> DELIVERING (while `block.timestamp <= deliverBy`).
    function startDelivery(bytes32 orderId) external;

    /// @notice Seller: ESCROWED | DELIVERING -> PROOF_SUBMITTED (while `block.timestamp <= deliverBy`).
    /// @param proofHash Commitment to the delivered work (e.g. the sha2-256 digest of the deliverable).
    /// @param proofURI Where the buyer finds the work (e.g. `ipfs://<CID>`); may be empty.
    function submitProof(bytes32 orderId, bytes32 proofHash, string calldata proofURI) external;

    /// @notice `submitProof` with an empty URI, for a proof that is its own locator (a content hash whose
    ///         content the buyer fetches by that hash, or a URI already shared in the order's thread). Same rules
    ///         and the same `ProofSubmitted` event (with `proofURI == ""`); ~0.5k gas cheaper, as the calldata
    ///         carries no string offset and length and Solidity has no string to decode.
    function submitProofHash(bytes32 orderId, bytes32 proofHash) external;

    /// @notice Buyer: PROOF_SUBMITTED -> REVIEWING (before the automatic start).
    function startReview(bytes32 orderId) external;

    /// @notice Buyer: PROOF_SUBMITTED | REVIEWING -> COMPLETED; pays the seller minus the fee.
    function accept(bytes32 orderId) external;

    /// @notice Buyer: PROOF_SUBMITTED | REVIEWING -> DELIVERING (third rejection -> DISPUTED).
    function reject(bytes32 orderId, bytes32 reasonHash) external;

    /// @notice Buyer or seller: DELIVERING (before `deliverBy`) | PROOF_SUBMITTED | REVIEWING -> DISPUTED.
    function dispute(bytes32 orderId, bytes32 evidenceHash) external;

    /// @notice Arbiter: DISPUTED -> RESOLVED with the seller getting `sellerBps` of the amount (minus fee).
    function resolve(bytes32 orderId, uint16 sellerBps) external;

    /// @notice Buyer or seller: proposes a split of a disputed order (replaces any pending proposal).
    function proposeSettlement(bytes32 orderId, uint16 sellerBps) external;

    /// @notice The other party: accepts the pending proposal (must repeat its split) -> RESOLVED.
    function acceptSettlement(bytes32 orderId, uint16 sellerBps) external;

    /// @notice Buyer: ESCROWED -> REFUNDED.
    function cancel(bytes32 orderId) external;

    /// @notice Seller: any non-terminal state -> REFUNDED (full amount back to the buyer).
    function refund(bytes32 orderId) external;

    /// @notice Anyone: performs the due automatic action (see `nextDeadline`); reverts if nothing is due. An automatic
    ///         review start that already happened by the clock (PROOF_SUBMITTED -> REVIEWING) counts as due: it is
    ///         written to storage with its clock time, without changing what `getOrder` shows.
    function advance(bytes32 orderId) external;

    /// @notice Anyone: `advance` on each id, skipping those with nothing due.
    /// @return advanced How many orders changed.
    function advanceMany(bytes32[] calldata orderIds) external returns (uint256 advanced);

    // ------------------------------------------------------------------------------------------------------
    // Money out
    // ------------------------------------------------------------------------------------------------------

    /// @notice Sends `msg.sender`'s whole claimable balance (deferred payouts) to `to` (any address but zero and
    ///         the escrow, so a blocklisted account can withdraw elsewhere).
    function claim(address to) external;

    /// @notice Sends all accrued fees to the treasury (callable by anyone).
    function withdrawFees() external;

    // ------------------------------------------------------------------------------------------------------
    // Admin (owner: two-step transfer)
    // ------------------------------------------------------------------------------------------------------

    /// @notice Appends a settings snapshot used by orders funded from now on.
    function setConfig(uint16 feeBps, uint32 reviewWindow, uint32 arbiterWindow, uint16 defaultSellerBps)
        external;

    /// @notice Sets the arbiter (applies to open disputes too).
    function setArbiter(address newArbiter) external;

    /// @notice Sets the fee recipient.
    function setTreasury(address newTreasury) external;

    /// @notice Pauses or unpauses new funding only.
    function setPaused(bool paused_) external;

    /// @notice Takes out `amount` of `token_`; for the escrow token only the surplus above all liabilities. Guarded
    ///         by the outcome too: reverts (`EscrowRescueBreaksCover`) when the escrowed token's balance afterwards
    ///         is below `liabilities()` and lower than before, so a second address of the same token (an upgraded
    ///         or proxied entry point) cannot move escrowed funds.
    function rescue(address token_, address to, uint256 amount) external;

    // ------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------

    /// @notice The escrowed token (immutable).
    function token() external view returns (address);
    /// @notice The token's decimals, read at deployment.
    function tokenDecimals() external view returns (uint8);
    /// @notice The immutable cap on `feeBps`.
    function maxFeeBps() external view returns (uint16);
    /// @notice The arbiter.
    function arbiter() external view returns (address);
    /// @notice The fee recipient.
    function treasury() external view returns (address);
    /// @notice Whether new funding is paused.
    function paused() external view returns (bool);
    /// @notice The id of the settings snapshot new orders use.
    function currentConfigId() external view returns (uint16);
    /// @notice A settings snapshot.
    function config(uint16 configId) external view returns (Config memory);
    /// @notice The order with the time-based transitions (PROOF_SUBMITTED -> REVIEWING -> COMPLETED) applied.
    function getOrder(bytes32 orderId) external view returns (Order memory);
    /// @notice The next automatic action `advance` performs on the order as stored, and the first second it can be
    ///         performed (NONE, 0 if none). A review that started by the clock but was not written yet (the order is
    ///         PROOF_SUBMITTED in storage, REVIEWING in `getOrder`) reports START_REVIEW, due: `advance` writes it
    ///         (and completes the order in the same call if the review window has also passed).
    function nextDeadline(bytes32 orderId) external view returns (Action action, uint64 at);
    /// @notice The seller's share (bps) the default ruling gives a DISPUTED order: the snapshot's `defaultSellerBps`
    ///         for a dispute about a submitted proof, 0 when no proof was ever submitted (0 for other states).
    function defaultRulingBps(bytes32 orderId) external view returns (uint16);
    /// @notice The pending settlement proposal of a disputed order (proposer zero if none or not disputed).
    function settlementOf(bytes32 orderId) external view returns (Settlement memory);
    /// @notice Deferred payouts of `account`.
    function claimable(address account) external view returns (uint256);
    /// @notice Fees accrued and not yet withdrawn.
    function accruedFees() external view returns (uint256);
    /// @notice Open escrow + accrued fees + claimables: what the escrow owes.
    function liabilities() external view returns (uint256);
    /// @notice The EIP-712 digest a seller signs for `offer` (domain: name "PactEscrow", version "1", chain id,
    ///         this contract).
    function hashOffer(Offer calldata offer) external view returns (bytes32);
    /// @notice keccak256 of "Offer(bytes32 orderId,address seller,address buyer,uint256 amount,uint64 deliverBy,
    ///         bytes32 termsHash,uint64 expiry)".
    function OFFER_TYPEHASH() external view returns (bytes32);
    /// @notice The EIP-712 domain separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
