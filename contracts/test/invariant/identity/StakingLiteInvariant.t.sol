// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {StakingLite} from "src/identity/StakingLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {IStakingLite} from "src/interfaces/identity/IStakingLite.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

/// @notice Drives a StakingLite with signed batches, rotations and rejected stale batches, and folds every
///         accepted update into a model.
contract StakingLiteHandler is LiteTestBase {
    string internal constant NAME = "Pact StakingLite";
    uint256 internal constant IDS = 8;
    uint256 internal constant POOL = 10;

    StakingLite public lite;
    uint256[] internal pool;
    uint256[] internal current;
    uint8 internal currentThreshold;

    // model
    mapping(bytes32 id => IStakingLite.BondRecord) internal model;
    uint64 public modelSequence;
    uint64 public modelCursor;
    uint64 public modelHomeTimestamp;
    uint64 public modelSetId = 1;
    uint256 public accepted;
    uint256 public rejected;
    uint256 public rotations;

    constructor() {
        (uint256[] memory keys,) = _makeSigners("pool", POOL);
        address[] memory initial = new address[](6);
        for (uint256 i; i < POOL; ++i) {
            pool.push(keys[i]);
            if (i < 6) {
                current.push(keys[i]);
                initial[i] = vm.addr(keys[i]);
            }
        }
        currentThreshold = 4;
        lite = new StakingLite(HOME_CHAIN_ID, initial, 4);
    }

    function id(uint256 i) public pure returns (bytes32) {
        return keccak256(abi.encode("invariant-id", i % IDS));
    }

    function modelOf(bytes32 key) external view returns (IStakingLite.BondRecord memory) {
        return model[key];
    }

    function _quorumKeys(uint256 seed) internal view returns (uint256[] memory keys) {
        keys = new uint256[](currentThreshold);
        uint256 start = seed % current.length;
        for (uint256 i; i < currentThreshold; ++i) {
            keys[i] = current[(start + i) % current.length];
        }
    }

    function _submit(bytes memory packed, uint32 count, uint64 toCursor, uint64 homeTs, uint256 seed)
        internal
        returns (bool ok)
    {
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, count, toCursor, homeTs);
        bytes memory sigs = _sign(NAME, lite, h, _quorumKeys(seed));
        try lite.applyBatch(h, packed, sigs) {
            ok = true;
        } catch {
            ok = false;
        }
    }

    function applyUpdates(uint256 seed, uint8 rawCount, uint32 homeAdvance) external {
        uint256 n = rawCount % 9;
        uint64 c = modelCursor;
        bytes memory packed;
        bytes32[] memory keys = new bytes32[](n);
        IStakingLite.BondRecord[] memory recs = new IStakingLite.BondRecord[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            c += uint64(1 + (r % 3_000_000_000));
            keys[i] = id(r >> 8);
            recs[i] = IStakingLite.BondRecord(uint96(r >> 100), uint96(r >> 196) >> (r % 90), c);
            packed = bytes.concat(packed, _bondUpdate(c, keys[i], recs[i].amount, recs[i].unbonding));
        }
        uint64 toCursor = c + uint64(seed % 1000);
        uint64 homeTs = modelHomeTimestamp + uint64(homeAdvance % 1 days);
        bool ok = _submit(packed, uint32(n), toCursor, homeTs, seed);
        require(ok, "valid batch rejected");
        for (uint256 i; i < n; ++i) {
            model[keys[i]] = recs[i];
        }
        modelSequence += 1;
        modelCursor = toCursor;
        modelHomeTimestamp = homeTs;
        ++accepted;
    }

    function submitStale(uint256 seed) external {
        if (modelCursor == 0) return;
        // an update at or below the last covered cursor must never land
        uint64 c = uint64(seed % (uint256(modelCursor) + 1));
        bytes memory packed = _bondUpdate(c, id(seed), 1, 2);
        bool ok = _submit(packed, 1, modelCursor + 1, modelHomeTimestamp, seed);
        require(!ok, "stale batch accepted");
        ++rejected;
    }

    function rotate(uint256 seed, uint8 rawSize) external {
        uint256 size = 3 + rawSize % 6; // 3..8
        uint8 newThreshold = uint8(size / 2 + 1 + (seed % (size - size / 2)));
        if (newThreshold > size) newThreshold = uint8(size);
        uint256 start = seed % POOL;
        uint256[] memory next = new uint256[](size);
        address[] memory addrs = new address[](size);
        for (uint256 i; i < size; ++i) {
            next[i] = pool[(start + i) % POOL];
            addrs[i] = vm.addr(next[i]);
        }
        bytes memory packed = _rotationUpdate(newThreshold, addrs);
        bool ok = _submit(packed, 1, modelCursor, modelHomeTimestamp, seed);
        require(ok, "rotation rejected");
        delete current;
        for (uint256 i; i < size; ++i) {
            current.push(next[i]);
        }
        currentThreshold = newThreshold;
        modelSequence += 1;
        modelSetId += 1;
        ++rotations;
    }
}

contract StakingLiteInvariantTest is LiteTestBase {
    StakingLiteHandler internal handler;

    function setUp() public {
        handler = new StakingLiteHandler();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = StakingLiteHandler.applyUpdates.selector;
        selectors[1] = StakingLiteHandler.submitStale.selector;
        selectors[2] = StakingLiteHandler.rotate.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice The handler really exercised batches, rejections and rotations.
    function afterInvariant() public view {
        assertGt(handler.accepted(), 0, "no batch accepted");
    }

    /// @notice The Lite's state (records and watermark) is the fold of the updates it accepted. One invariant
    ///         function so each run of the handler is checked once (keeps the suite fast).
    function invariant_stateEqualsFoldOfAcceptedUpdates() public view {
        _assertWatermark();
        StakingLite lite = handler.lite();
        for (uint256 i; i < 8; ++i) {
            bytes32 key = handler.id(i);
            IStakingLite.BondRecord memory got = lite.bondOf(key);
            IStakingLite.BondRecord memory want = handler.modelOf(key);
            assertEq(got.amount, want.amount, "amount");
            assertEq(got.unbonding, want.unbonding, "unbonding");
            assertEq(got.cursor, want.cursor, "cursor");
            assertLe(got.cursor, lite.lastCursor(), "record ahead of watermark");
        }
    }

    /// @dev The watermark is the last accepted header.
    function _assertWatermark() internal view {
        ILiteBase.Watermark memory w = handler.lite().watermark();
        assertEq(w.lastSequence, handler.modelSequence());
        assertEq(w.lastCursor, handler.modelCursor());
        assertEq(w.lastHomeTimestamp, handler.modelHomeTimestamp());
        assertEq(w.signerSetId, handler.modelSetId());
    }
}
// forge-lint: disable-end(unsafe-typecast)
