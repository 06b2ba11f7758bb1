// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title LogEmitter
/// @notice Fills a local chain with ERC-20 `Transfer` logs cheaply, for indexer tests and benches:
///         to the indexer it looks like a token (same event signature), without balances.
contract LogEmitter {
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice Emits `count` Transfer events from `from` to consecutive recipients `to + i`,
    ///         with values `firstValue + i`.
    function emitTransfers(address from, address to, uint256 firstValue, uint256 count) external {
        uint160 base = uint160(to);
        for (uint256 i; i < count; ++i) {
            emit Transfer(from, address(base + uint160(i)), firstValue + i);
        }
    }
}
