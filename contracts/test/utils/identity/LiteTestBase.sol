// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {Test} from "forge-std/Test.sol";
import {ILiteBase} from "src/interfaces/identity/ILiteBase.sol";

/// @notice Shared fixtures for Lite tests: a 4-of-6 signer set, an independent EIP-712 digest implementation,
///         sorted multi-signing and packers for every update kind.
abstract contract LiteTestBase is Test {
    uint256 internal constant HOME_CHAIN_ID = 8453;
    uint8 internal constant THRESHOLD = 4;
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    string internal constant BATCH_TYPE =
        "BatchHeader(uint256 sourceChainId,uint64 signerSetId,uint64 sequence,uint64 fromCursor,uint64 toCursor,uint64 homeTimestamp,uint32 count,bytes32 updatesHash)";

    uint256[] internal signerKeys;
    address[] internal signerAddrs;

    function _makeSigners(string memory prefix, uint256 n)
        internal
        returns (uint256[] memory keys, address[] memory addrs)
    {
        keys = new uint256[](n);
        addrs = new address[](n);
        for (uint256 i; i < n; ++i) {
            (addrs[i], keys[i]) = makeAddrAndKey(string.concat(prefix, vm.toString(i)));
        }
    }

    function _initSigners() internal {
        (uint256[] memory keys, address[] memory addrs) = _makeSigners("signer", 6);
        for (uint256 i; i < 6; ++i) {
            signerKeys.push(keys[i]);
            signerAddrs.push(addrs[i]);
        }
    }

    // ------------------------------------------------------------------ EIP-712, computed independently

    function _domainSeparator(string memory name, uint256 chainId, address lite)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256("1"), chainId, lite));
    }

    function _structHash(ILiteBase.BatchHeader memory h) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(bytes(BATCH_TYPE)),
                h.sourceChainId,
                h.signerSetId,
                h.sequence,
                h.fromCursor,
                h.toCursor,
                h.homeTimestamp,
                h.count,
                h.updatesHash
            )
        );
    }

    function _digest(string memory name, uint256 chainId, address lite, ILiteBase.BatchHeader memory h)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(hex"1901", _domainSeparator(name, chainId, lite), _structHash(h)));
    }

    // ------------------------------------------------------------------ headers and signatures

    /// @dev Next header for `lite` covering `(lastCursor, toCursor]`.
    function _nextHeader(
        ILiteBase lite,
        bytes memory packed,
        uint32 count,
        uint64 toCursor,
        uint64 homeTimestamp
    ) internal view returns (ILiteBase.BatchHeader memory h) {
        ILiteBase.Watermark memory w = lite.watermark();
        h = ILiteBase.BatchHeader({
            sourceChainId: HOME_CHAIN_ID,
            signerSetId: w.signerSetId,
            sequence: w.lastSequence + 1,
            fromCursor: w.lastCursor,
            toCursor: toCursor,
            homeTimestamp: homeTimestamp,
            count: count,
            updatesHash: keccak256(packed)
        });
    }

    /// @dev Signs `digest` with `keys`, concatenated in ascending signer-address order.
    function _signSorted(bytes32 digest, uint256[] memory keys) internal pure returns (bytes memory sigs) {
        uint256 n = keys.length;
        address[] memory addrs = new address[](n);
        uint256[] memory sorted = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            sorted[i] = keys[i];
            addrs[i] = vm.addr(keys[i]);
        }
        for (uint256 i = 1; i < n; ++i) {
            for (uint256 j = i; j > 0 && addrs[j - 1] > addrs[j]; --j) {
                (addrs[j - 1], addrs[j]) = (addrs[j], addrs[j - 1]);
                (sorted[j - 1], sorted[j]) = (sorted[j], sorted[j - 1]);
            }
        }
        for (uint256 i; i < n; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(sorted[i], digest);
            sigs = bytes.concat(sigs, abi.encodePacked(r, s, v));
        }
    }

    /// @dev The first `THRESHOLD` keys of the current fixture set.
    function _quorum() internal view returns (uint256[] memory keys) {
        keys = new uint256[](THRESHOLD);
        for (uint256 i; i < THRESHOLD; ++i) {
            keys[i] = signerKeys[i];
        }
    }

    function _sign(string memory name, ILiteBase lite, ILiteBase.BatchHeader memory h, uint256[] memory keys)
        internal
        view
        returns (bytes memory)
    {
        return _signSorted(_digest(name, block.chainid, address(lite), h), keys);
    }

    // ------------------------------------------------------------------ packers

    function _bondUpdate(uint64 cursor, bytes32 id, uint96 amount, uint96 unbonding)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(uint8(0x01), cursor, id, amount, unbonding);
    }

    function _identityUpdate(
        uint64 cursor,
        bytes32 id,
        address owner,
        address wallet,
        uint8 entityType,
        uint8 status
    ) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x01), cursor, id, owner, wallet, entityType, status);
    }

    function _setAttributeUpdate(
        uint64 cursor,
        address did,
        bytes32 name,
        bytes32 value,
        uint64 validTo,
        uint8 valueInfo
    ) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0x01), cursor, did, name, value, validTo, valueInfo);
    }

    function _removeAttributeUpdate(uint64 cursor, address did, bytes32 name)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(uint8(0x02), cursor, did, name);
    }

    function _rotationUpdate(uint8 newThreshold, address[] memory next)
        internal
        pure
        returns (bytes memory u)
    {
        u = abi.encodePacked(uint8(0xff), newThreshold, uint8(next.length));
        for (uint256 i; i < next.length; ++i) {
            u = bytes.concat(u, abi.encodePacked(next[i]));
        }
    }

    /// @dev Cursor of log `logIndex` in home block `blockNumber`.
    function _cursor(uint256 blockNumber, uint256 logIndex) internal pure returns (uint64) {
        return uint64((blockNumber << 32) | logIndex);
    }
}
// forge-lint: disable-end(unsafe-typecast)
