// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IIdentityRegistry
/// @notice Home-chain registry of agents and machines. An identity has an owner (the registering account), an
///         agent wallet that proved control with an EIP-712 signature, an entity type, a status and a metadata
///         URI hash. Ids are `keccak256(abi.encode(owner, salt))`, so nobody can squat another owner's id.
///
/// Wallet proofs are EIP-712 over the domain `EIP712Domain(string name,string version,uint256 chainId,address
/// verifyingContract)` with name "Pact IdentityRegistry", version "1", and the type
///
///     WalletBinding(bytes32 id,address owner,address wallet,uint256 nonce,uint256 deadline)
///
/// where `nonce` is the wallet's current {nonces} value (consumed on use). ERC-1271 wallets are accepted.
///
/// Rebuilding from events: a record is the fold, in log order, of {IdentityRegistered} (creates it: status 1),
/// {IdentityWalletChanged}, {IdentityMetadataUpdated}, {IdentitySuspended} (status 2), {IdentityReinstated}
/// (status 1) and {IdentityRevoked} (status 3). Each is emitted right after the change.
interface IIdentityRegistry {
    /// @notice An identity's status, stored in {Identity.status} as its `uint8` discriminant.
    enum Status {
        NONE,
        ACTIVE,
        SUSPENDED,
        REVOKED
    }

    /// @notice A registered identity.
    /// @param owner Account that registered and controls the identity.
    /// @param wallet The agent wallet.
    /// @param entityType 1 agent, 2 machine.
    /// @param status A {Status}: 1 active, 2 suspended, 3 revoked (0: unknown id).
    /// @param metadataHash keccak256 of the metadata URI (or any commitment the owner chooses).
    struct Identity {
        address owner;
        address wallet;
        uint8 entityType;
        uint8 status;
        bytes32 metadataHash;
    }

    event IdentityRegistered(
        bytes32 indexed id,
        address indexed owner,
        address indexed wallet,
        uint8 entityType,
        bytes32 metadataHash
    );
    event IdentityWalletChanged(
        bytes32 indexed id, address indexed previousWallet, address indexed newWallet
    );
    event IdentityMetadataUpdated(bytes32 indexed id, bytes32 metadataHash);
    event IdentitySuspended(bytes32 indexed id);
    event IdentityReinstated(bytes32 indexed id);
    event IdentityRevoked(bytes32 indexed id);

    /// @notice The entity type is neither 1 (agent) nor 2 (machine).
    error IdentityRegistryInvalidEntityType(uint8 entityType);
    /// @notice The wallet is the zero address.
    error IdentityRegistryZeroWallet();
    /// @notice `id` is already registered.
    error IdentityRegistryIdentityExists(bytes32 id);
    /// @notice `id` is not registered.
    error IdentityRegistryUnknownIdentity(bytes32 id);
    /// @notice `wallet` is already bound to identity `id`.
    error IdentityRegistryWalletTaken(address wallet, bytes32 id);
    /// @notice The wallet signature's deadline passed.
    error IdentityRegistrySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature does not prove control of `wallet`.
    error IdentityRegistryInvalidWalletSignature(address wallet);
    /// @notice `caller` is not the owner of `id`.
    error IdentityRegistryNotIdentityOwner(bytes32 id, address caller);
    /// @notice `caller` is neither the owner of `id` nor the registry admin.
    error IdentityRegistryNotAuthorized(bytes32 id, address caller);
    /// @notice The identity has status `status`, not the one the action needs.
    error IdentityRegistryInvalidStatus(bytes32 id, uint8 status);

    /// @notice Registers an identity owned by `msg.sender` with id `keccak256(abi.encode(msg.sender, salt))`.
    /// @param salt Owner-chosen salt.
    /// @param entityType 1 agent, 2 machine.
    /// @param wallet Agent wallet; must sign a WalletBinding for the new id, the caller and its current nonce.
    /// @param metadataHash Metadata URI hash.
    /// @param deadline Last timestamp at which `walletSignature` is valid.
    /// @param walletSignature ECDSA (65 bytes or EIP-2098 64 bytes) or ERC-1271 signature of the wallet.
    /// @return id The new identity id.
    function register(
        bytes32 salt,
        uint8 entityType,
        address wallet,
        bytes32 metadataHash,
        uint256 deadline,
        bytes calldata walletSignature
    ) external returns (bytes32 id);

    /// @notice Binds a new agent wallet (owner only, not when revoked); the new wallet signs a WalletBinding.
    function setWallet(bytes32 id, address newWallet, uint256 deadline, bytes calldata walletSignature)
        external;

    /// @notice Updates the metadata hash (owner only, not when revoked).
    function setMetadata(bytes32 id, bytes32 metadataHash) external;

    /// @notice Suspends an active identity (registry admin only).
    function suspend(bytes32 id) external;

    /// @notice Reinstates a suspended identity (registry admin only).
    function reinstate(bytes32 id) external;

    /// @notice Revokes an identity for good (its owner or the registry admin); frees its wallet.
    function revoke(bytes32 id) external;

    /// @notice The identity `id` (status 0 if unknown).
    function identityOf(bytes32 id) external view returns (Identity memory);

    /// @notice The identity the wallet is bound to (0 if none).
    function idOfWallet(address wallet) external view returns (bytes32);

    /// @notice `keccak256(abi.encode(owner, salt))`.
    function computeId(address owner, bytes32 salt) external pure returns (bytes32);

    /// @notice The EIP-712 digest `wallet` must sign.
    function walletBindingDigest(bytes32 id, address owner, address wallet, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32);
}
