// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {DIDLite} from "src/identity/DIDLite.sol";
import {IdentityLite} from "src/identity/IdentityLite.sol";
import {StakingLite} from "src/identity/StakingLite.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";
import {LiteTestBase} from "test/utils/identity/LiteTestBase.sol";

/// @notice Named gas snapshots of `applyBatch` (4-of-6 signatures), written to `snapshots/<Lite>.json`.
/// @dev Method. Every figure is execution gas of the `applyBatch` call frame as `vm.snapshotGasLastCall` reports
///      it (no 21k intrinsic gas, no calldata gas), with the Lite's storage cooled (`vm.cool`) right before the
///      call so every slot is cold as in a real transaction, in steady state (a previous batch already
///      initialised the watermark slot).
///      - `applyBatch_0_updates`: an empty batch (heartbeat) = the fixed overhead per batch.
///      - `applyBatch_100_<case>`: a batch of 100 updates; `perUpdate_<case>` = (that − empty batch) / 100.
///      - `fixedOverhead_fromOneUpdate` = gas(1 overwrite) − perUpdate_overwrite, a cross-check of the first.
///      - `txGasEstimate_<n>_<case>` adds 21,000 and the calldata gas (4 per zero byte, 16 per other byte) of
///        the whole `applyBatch` call: what a relayer's transaction costs; must stay below 5M.
contract LiteGasTest is LiteTestBase {
    uint256 internal constant N = 100;
    uint64 internal constant PRIME_CURSOR = uint64(1000 << 32);
    uint64 internal constant HOME_TS = 1_700_000_000;

    StakingLite internal staking;
    IdentityLite internal identityLite;
    DIDLite internal didLite;

    function setUp() public {
        _initSigners();
        staking = new StakingLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        identityLite = new IdentityLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        didLite = new DIDLite(HOME_CHAIN_ID, signerAddrs, THRESHOLD);
        // prime: records 0..N-1 exist, sequence 1 applied
        _apply(staking, "Pact StakingLite", _stakeBatch(0, 1), N, 1);
        _apply(identityLite, "Pact IdentityLite", _identityBatch(0, 1), N, 1);
        _apply(didLite, "Pact DIDLite", _didBatch(0, 1), N, 1);
    }

    // ------------------------------------------------------------------ batch builders (cursor = block 1000 + seq)

    function _id(uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode("id", i));
    }

    function _stakeBatch(uint256 firstId, uint256 seq) internal pure returns (bytes memory p) {
        for (uint256 i; i < N; ++i) {
            p = bytes.concat(
                p, _bondUpdate(_cursor(1000 + seq, i), _id(firstId + i), uint96(1e18 + seq), uint96(seq))
            );
        }
    }

    function _identityBatch(uint256 firstId, uint256 seq) internal pure returns (bytes memory p) {
        for (uint256 i; i < N; ++i) {
            p = bytes.concat(
                p,
                _identityUpdate(
                    _cursor(1000 + seq, i),
                    _id(firstId + i),
                    address(uint160(0xA000 + seq)),
                    address(uint160(0xB000 + i + seq)),
                    1,
                    uint8(1 + seq % 2)
                )
            );
        }
    }

    function _didBatch(uint256 firstId, uint256 seq) internal pure returns (bytes memory p) {
        for (uint256 i; i < N; ++i) {
            p = bytes.concat(
                p,
                _setAttributeUpdate(
                    _cursor(1000 + seq, i),
                    address(uint160(0xD000 + firstId + i)),
                    "did/pub/Secp256k1/veriKey",
                    keccak256(abi.encode(seq, i)),
                    uint64(2_000_000_000 + seq),
                    32
                )
            );
        }
    }

    function _header(uint64 seq, bytes memory packed, uint256 count)
        internal
        pure
        returns (ILiteBase.BatchHeader memory)
    {
        return ILiteBase.BatchHeader({
            sourceChainId: HOME_CHAIN_ID,
            signerSetId: 1,
            sequence: seq,
            fromCursor: _cursor(1000 + seq - 1, 0xffffffff),
            toCursor: _cursor(1000 + seq, 0xffffffff),
            homeTimestamp: HOME_TS + seq,
            count: uint32(count),
            updatesHash: keccak256(packed)
        });
    }

    function _apply(ILiteBase lite, string memory name, bytes memory packed, uint256 count, uint64 seq)
        internal
        returns (bytes memory callData)
    {
        ILiteBase.BatchHeader memory h = _header(seq, packed, count);
        if (seq == 1) h.fromCursor = 0;
        bytes memory sigs = _sign(name, lite, h, _quorum());
        callData = abi.encodeCall(ILiteBase.applyBatch, (h, packed, sigs));
        vm.cool(address(lite));
        lite.applyBatch(h, packed, sigs);
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev Measures empty, one-update and 100-update batches and writes the named figures.
    function _measure(
        ILiteBase lite,
        string memory name,
        string memory group,
        string memory kase,
        bytes memory batch100,
        bytes memory one,
        uint256 slots,
        uint256 limit
    ) internal {
        bytes memory emptyCall = _apply(lite, name, "", 0, 2);
        uint256 g0 = vm.snapshotGasLastCall(group, "applyBatch_0_updates");
        vm.snapshotValue(group, "txGasEstimate_0_updates", 21_000 + _calldataGas(emptyCall) + g0);
        bytes memory callData = _apply(lite, name, batch100, N, 3);
        uint256 g100 = vm.snapshotGasLastCall(group, string.concat("applyBatch_100_", kase));
        uint256 perUpdate = (g100 - g0) / N;
        vm.snapshotValue(group, string.concat("perUpdate_", kase), perUpdate);
        assertLe(perUpdate, limit, "per-update target");
        if (keccak256(bytes(kase)) == keccak256("fresh")) {
            vm.snapshotValue(group, "perFreshSlot", perUpdate / slots);
            assertLe(perUpdate / slots, 24_500, "per fresh slot target");
        }
        uint256 txGas = 21_000 + _calldataGas(callData) + g100;
        vm.snapshotValue(group, string.concat("txGasEstimate_100_", kase), txGas);
        assertLt(txGas, 5_000_000, "batch of 100 must fit in 5M gas");
        assertLe(g0, 70_000, "fixed overhead");
        if (one.length != 0) {
            _apply(lite, name, one, 1, 4);
            uint256 g1 = vm.lastCallGas().gasTotalUsed;
            vm.snapshotValue(group, "fixedOverhead_fromOneUpdate", g1 - perUpdate);
        }
        emit log_named_uint(string.concat(group, " perUpdate_", kase), perUpdate);
        emit log_named_uint(string.concat(group, " fixed"), g0);
    }

    // ------------------------------------------------------------------ one-slot records

    function test_applyBatch_gasStakingLite_overwrite() public {
        bytes memory batch = _stakeBatch(0, 3);
        bytes memory one = _bondUpdate(_cursor(1004, 0), _id(0), 5, 0);
        _measure(staking, "Pact StakingLite", "StakingLite", "overwrite", batch, one, 1, 7000);
    }

    function test_applyBatch_gasStakingLite_fresh() public {
        _measure(staking, "Pact StakingLite", "StakingLite", "fresh", _stakeBatch(N, 3), "", 1, 24_500);
    }

    // ------------------------------------------------------------------ two-slot records

    function test_applyBatch_gasIdentityLite_overwrite() public {
        _measure(
            identityLite,
            "Pact IdentityLite",
            "IdentityLite",
            "overwrite",
            _identityBatch(0, 3),
            "",
            2,
            12_000
        );
    }

    function test_applyBatch_gasIdentityLite_fresh() public {
        _measure(
            identityLite, "Pact IdentityLite", "IdentityLite", "fresh", _identityBatch(N, 3), "", 2, 49_000
        );
    }

    function test_applyBatch_gasDIDLite_overwrite() public {
        _measure(didLite, "Pact DIDLite", "DIDLite", "overwrite", _didBatch(0, 3), "", 2, 12_000);
    }

    function test_applyBatch_gasDIDLite_fresh() public {
        _measure(didLite, "Pact DIDLite", "DIDLite", "fresh", _didBatch(N, 3), "", 2, 49_000);
    }
}
// forge-lint: disable-end(unsafe-typecast)
