// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {DIDLite} from "src/identity/DIDLite.sol";
import {StakingLite} from "src/identity/StakingLite.sol";
import {IDIDLite} from "src/interfaces/identity/IDIDLite.sol";
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

/// @notice Drives a DIDLite with signed batches of sets and removals (two-slot records, nested mapping) and
///         rejected stale batches, and folds every accepted update into a model.
contract DIDLiteHandler is LiteTestBase {
    string internal constant NAME = "Pact DIDLite";
    uint256 internal constant KEYS = 9; // 3 DIDs x 3 names

    DIDLite public lite;
    mapping(uint256 key => IDIDLite.AttributeRecord) internal model;
    uint64 public modelSequence;
    uint64 public modelCursor;
    uint256 public accepted;

    constructor() {
        _initSigners();
        lite = new DIDLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
    }

    function keyOf(uint256 k) public pure returns (address did, bytes32 name) {
        k %= KEYS;
        did = address(uint160(0xD1D0 + k / 3));
        name = bytes32(uint256(0x100 + k % 3));
    }

    function modelOf(uint256 k) external view returns (IDIDLite.AttributeRecord memory) {
        return model[k % KEYS];
    }

    function applyUpdates(uint256 seed, uint8 rawCount) external {
        uint256 n = rawCount % 7;
        uint64 c = modelCursor;
        bytes memory packed;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            c += uint64(1 + r % 1_000_000);
            packed = bytes.concat(packed, _foldOne(r, c));
        }
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, uint32(n), c, 1);
        lite.applyBatch(h, packed, _sign(NAME, lite, h, _quorum()));
        modelSequence += 1;
        modelCursor = c;
        ++accepted;
    }

    /// @dev Builds one update from `r` at cursor `c` and folds it into the model.
    function _foldOne(uint256 r, uint64 c) internal returns (bytes memory u) {
        uint256 k = (r >> 8) % KEYS;
        (address did, bytes32 name) = keyOf(k);
        IDIDLite.AttributeRecord storage m = model[k];
        if ((r >> 16) % 3 == 0) {
            (m.validTo, m.valueInfo, m.removed, m.cursor) = (0, 0, true, c);
            return _removeAttributeUpdate(c, did, name);
        }
        (m.value, m.validTo, m.valueInfo, m.removed, m.cursor) =
        (keccak256(abi.encode(r)), uint64(r >> 64), uint8(r >> 128), false, c);
        return _setAttributeUpdate(c, did, name, m.value, m.validTo, m.valueInfo);
    }

    function submitStale(uint256 seed) external {
        if (modelCursor == 0) return;
        (address did, bytes32 name) = keyOf(seed);
        bytes memory packed = _removeAttributeUpdate(uint64(seed % (uint256(modelCursor) + 1)), did, name);
        ILiteBase.BatchHeader memory h = _nextHeader(lite, packed, 1, modelCursor + 1, 1);
        bytes memory sigs = _sign(NAME, lite, h, _quorum());
        try lite.applyBatch(h, packed, sigs) {
            revert("stale batch accepted");
        } catch {}
    }
}

contract LiteInvariantTest is LiteTestBase {
    StakingLiteHandler internal handler;
    DIDLiteHandler internal didHandler;

    function setUp() public {
        handler = new StakingLiteHandler();
        didHandler = new DIDLiteHandler();
        targetContract(address(didHandler));
        bytes4[] memory didSelectors = new bytes4[](2);
        didSelectors[0] = DIDLiteHandler.applyUpdates.selector;
        didSelectors[1] = DIDLiteHandler.submitStale.selector;
        targetSelector(FuzzSelector({addr: address(didHandler), selectors: didSelectors}));
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
        assertGt(didHandler.accepted(), 0, "no DID batch accepted");
    }

    /// @notice The Lite's state (records and watermark) is the fold of the updates it accepted. One invariant
    ///         function so each run of the handler is checked once (keeps the suite fast).
    function invariant_stateEqualsFoldOfAcceptedUpdates() public view {
        _assertWatermark();
        _assertDidFold();
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

    /// @dev DIDLite records (value, validity, info, removed flag, cursor) equal the model's fold.
    function _assertDidFold() internal view {
        DIDLite lite = didHandler.lite();
        assertEq(lite.lastSequence(), didHandler.modelSequence(), "did sequence");
        assertEq(lite.lastCursor(), didHandler.modelCursor(), "did cursor");
        for (uint256 k; k < 9; ++k) {
            (address did, bytes32 name) = didHandler.keyOf(k);
            IDIDLite.AttributeRecord memory got = lite.attributeState(did, name);
            IDIDLite.AttributeRecord memory want = didHandler.modelOf(k);
            assertEq(got.value, want.value, "value");
            assertEq(got.validTo, want.validTo, "validTo");
            assertEq(got.valueInfo, want.valueInfo, "valueInfo");
            assertEq(got.removed, want.removed, "removed");
            assertEq(got.cursor, want.cursor, "cursor");
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
