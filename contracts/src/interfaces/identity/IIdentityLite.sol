// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ILiteBase} from "./ILiteBase.sol";

/// @title IIdentityLite
/// @notice Mirror of the home chain's IdentityRegistry. EIP-712 domain name "Pact IdentityLite", version "1".
///
/// ## Packed update kinds (besides the shared rotation 0xff)
/// Kind 0x01 SET_IDENTITY, 83 bytes; the post-state of the identity after the home event at `cursor`
/// (IdentityRegistry events `IdentityRegistered`, `IdentityWalletChanged`, `IdentitySuspended`,
/// `IdentityReinstated`, `IdentityRevoked`; `IdentityMetadataUpdated` does not change mirrored fields and need
/// not be sent):
///
///     offset size field
///     0      1    kind = 0x01
///     1      8    cursor (uint64, big-endian)
///     9      32   id (bytes32)
///     41     20   owner (address)
///     61     20   wallet (address, the agent wallet)
///     81     1    entityType (uint8: 1 agent, 2 machine)
///     82     1    status (uint8: 1 active, 2 suspended, 3 revoked)
///
/// Storage: two slots per id: `owner | cursor << 160 | entityType << 224 | status << 232`, then `wallet`.
/// The metadata URI hash is not mirrored (read it on the home chain or from the indexer).
interface IIdentityLite is ILiteBase {
    /// @notice A mirrored identity.
    /// @param owner Owner of the identity on the home chain.
    /// @param wallet Agent wallet bound to the identity.
    /// @param entityType 1 agent, 2 machine.
    /// @param status 1 active, 2 suspended, 3 revoked.
    /// @param cursor Cursor of the home event that last changed the record ("last updated").
    struct IdentityRecord {
        address owner;
        address wallet;
        uint8 entityType;
        uint8 status;
        uint64 cursor;
    }

    /// @notice The identity was never mirrored.
    error IdentityLiteUnknown(bytes32 id);

    /// @notice The mirrored identity `id`; reverts with {IdentityLiteUnknown} if absent.
    function identity(bytes32 id) external view returns (IdentityRecord memory);

    /// @notice When `id` was last updated: the cursor of its last home event and the home block number
    ///         (`cursor >> 32`); both 0 if never mirrored.
    function lastUpdated(bytes32 id) external view returns (uint64 cursor, uint64 homeBlock);

    /// @notice Whether `id` is active, with agent wallet `wallet`, on a mirror that is not paused and at most
    ///         `maxAge` seconds behind the home chain. Fails closed.
    function isActive(bytes32 id, address wallet, uint256 maxAge) external view returns (bool);
}
