// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Narrowing casts here unpack fixed-width fields or stay within checked bounds; each is intended.
// forge-lint: disable-start(unsafe-typecast)

import {IIdentityRegistry} from "../interfaces/identity/IIdentityRegistry.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title IdentityRegistry
/// @notice Home-chain registry of agents and machines; the Ownable2Step owner is the registry admin.
contract IdentityRegistry is IIdentityRegistry, EIP712, Nonces, Ownable2Step {
    /// @notice keccak256 of the EIP-712 `WalletBinding` type string.
    bytes32 public constant WALLET_BINDING_TYPEHASH =
        keccak256("WalletBinding(bytes32 id,address owner,address wallet,uint256 nonce,uint256 deadline)");

    uint8 internal constant STATUS_ACTIVE = uint8(Status.ACTIVE);
    uint8 internal constant STATUS_SUSPENDED = uint8(Status.SUSPENDED);
    uint8 internal constant STATUS_REVOKED = uint8(Status.REVOKED);

    mapping(bytes32 id => Identity) private _identities;
    mapping(address wallet => bytes32 id) private _idOfWallet;

    constructor(address admin) EIP712("Pact IdentityRegistry", "1") Ownable(admin) {}

    /// @inheritdoc IIdentityRegistry
    function register(
        bytes32 salt,
        uint8 entityType,
        address wallet,
        bytes32 metadataHash,
        uint256 deadline,
        bytes calldata walletSignature
    ) external returns (bytes32 id) {
        if (entityType != 1 && entityType != 2) {
            revert IdentityRegistryInvalidEntityType(entityType);
        }
        id = computeId(msg.sender, salt);
        if (_identities[id].status != 0) revert IdentityRegistryIdentityExists(id);
        _bindWallet(id, msg.sender, wallet, deadline, walletSignature);
        _identities[id] = Identity(msg.sender, wallet, entityType, STATUS_ACTIVE, metadataHash);
        emit IdentityRegistered(id, msg.sender, wallet, entityType, metadataHash);
    }

    /// @inheritdoc IIdentityRegistry
    function setWallet(bytes32 id, address newWallet, uint256 deadline, bytes calldata walletSignature)
        external
    {
        Identity storage rec = _ownedLive(id);
        _bindWallet(id, msg.sender, newWallet, deadline, walletSignature);
        address previous = rec.wallet;
        delete _idOfWallet[previous];
        rec.wallet = newWallet;
        emit IdentityWalletChanged(id, previous, newWallet);
    }

    /// @inheritdoc IIdentityRegistry
    function setMetadata(bytes32 id, bytes32 metadataHash) external {
        _ownedLive(id).metadataHash = metadataHash;
        emit IdentityMetadataUpdated(id, metadataHash);
    }

    /// @inheritdoc IIdentityRegistry
    function suspend(bytes32 id) external onlyOwner {
        Identity storage rec = _existing(id);
        if (rec.status != STATUS_ACTIVE) revert IdentityRegistryInvalidStatus(id, rec.status);
        rec.status = STATUS_SUSPENDED;
        emit IdentitySuspended(id);
    }

    /// @inheritdoc IIdentityRegistry
    function reinstate(bytes32 id) external onlyOwner {
        Identity storage rec = _existing(id);
        if (rec.status != STATUS_SUSPENDED) revert IdentityRegistryInvalidStatus(id, rec.status);
        rec.status = STATUS_ACTIVE;
        emit IdentityReinstated(id);
    }

    /// @inheritdoc IIdentityRegistry
    function revoke(bytes32 id) external {
        Identity storage rec = _existing(id);
        if (msg.sender != rec.owner && msg.sender != owner()) {
            revert IdentityRegistryNotAuthorized(id, msg.sender);
        }
        if (rec.status == STATUS_REVOKED) revert IdentityRegistryInvalidStatus(id, rec.status);
        rec.status = STATUS_REVOKED;
        delete _idOfWallet[rec.wallet];
        emit IdentityRevoked(id);
    }

    /// @inheritdoc IIdentityRegistry
    function identityOf(bytes32 id) external view returns (Identity memory) {
        return _identities[id];
    }

    /// @inheritdoc IIdentityRegistry
    function idOfWallet(address wallet) external view returns (bytes32) {
        return _idOfWallet[wallet];
    }

    /// @inheritdoc IIdentityRegistry
    function computeId(address owner_, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(owner_, salt));
    }

    /// @inheritdoc IIdentityRegistry
    function walletBindingDigest(bytes32 id, address owner_, address wallet, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(WALLET_BINDING_TYPEHASH, id, owner_, wallet, nonce, deadline))
            );
    }

    function _existing(bytes32 id) private view returns (Identity storage rec) {
        rec = _identities[id];
        if (rec.status == 0) revert IdentityRegistryUnknownIdentity(id);
    }

    function _ownedLive(bytes32 id) private view returns (Identity storage rec) {
        rec = _existing(id);
        if (rec.owner != msg.sender) revert IdentityRegistryNotIdentityOwner(id, msg.sender);
        if (rec.status == STATUS_REVOKED) revert IdentityRegistryInvalidStatus(id, rec.status);
    }

    function _bindWallet(
        bytes32 id,
        address owner_,
        address wallet,
        uint256 deadline,
        bytes calldata signature
    ) private {
        if (wallet == address(0)) revert IdentityRegistryZeroWallet();
        bytes32 taken = _idOfWallet[wallet];
        if (taken != 0) revert IdentityRegistryWalletTaken(wallet, taken);
        if (block.timestamp > deadline) revert IdentityRegistrySignatureExpired(deadline, block.timestamp);
        bytes32 digest = walletBindingDigest(id, owner_, wallet, _useNonce(wallet), deadline);
        if (!SignatureChecker.isValidSignatureNow(wallet, digest, signature)) {
            revert IdentityRegistryInvalidWalletSignature(wallet);
        }
        _idOfWallet[wallet] = id;
    }
}
// forge-lint: disable-end(unsafe-typecast)
