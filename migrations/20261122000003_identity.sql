-- Identity tables: written only by pact-indexer (same transaction as the chain cursor).
-- Home chain: the registries' events and their projections. Satellites: the Lites' batches and
-- the mirrored records decoded from each batch's packed updates.

-- Every event of an identity contract; for `BatchApplied`, `args.updates` holds the batch's
-- decoded packed updates (read from the transaction's calldata and checked against updatesHash).
CREATE TABLE identity_events (
    chain_id         BIGINT  NOT NULL,
    block_number     BIGINT  NOT NULL,
    log_index        INTEGER NOT NULL,
    tx_hash          BYTEA   NOT NULL,
    block_timestamp  BIGINT  NOT NULL,
    contract         BYTEA   NOT NULL,
    kind             TEXT    NOT NULL,  -- identity_registry | did_registry | stake_registry |
                                        -- identity_lite | did_lite | staking_lite
    event            TEXT    NOT NULL,
    args             JSONB   NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

-- Home chain projections.
CREATE TABLE identities (
    chain_id       BIGINT   NOT NULL,
    registry       BYTEA    NOT NULL,
    id             BYTEA    NOT NULL,
    owner          BYTEA    NOT NULL,
    wallet         BYTEA    NOT NULL,
    entity_type    SMALLINT NOT NULL,   -- 1 agent, 2 machine
    status         TEXT     NOT NULL,   -- ACTIVE | SUSPENDED | REVOKED
    metadata_hash  BYTEA    NOT NULL,
    updated_block  BIGINT   NOT NULL,
    updated_at     BIGINT   NOT NULL,
    PRIMARY KEY (chain_id, registry, id)
);
CREATE INDEX identities_wallet ON identities (wallet);

CREATE TABLE did_attributes (
    chain_id       BIGINT   NOT NULL,
    registry       BYTEA    NOT NULL,
    did            BYTEA    NOT NULL,
    name           BYTEA    NOT NULL,
    stored         BYTEA    NOT NULL,   -- the value (<= 32 bytes, left-aligned) or its keccak256
    value_info     SMALLINT NOT NULL,   -- 0..32 inline length, 255 = stored is a hash
    value          BYTEA    NOT NULL,   -- the raw value from the event
    valid_to       BIGINT   NOT NULL,
    removed        BOOLEAN  NOT NULL DEFAULT false,
    updated_block  BIGINT   NOT NULL,
    updated_at     BIGINT   NOT NULL,
    PRIMARY KEY (chain_id, registry, did, name)
);

CREATE TABLE stake_bonds (
    chain_id       BIGINT   NOT NULL,
    registry       BYTEA    NOT NULL,
    id             BYTEA    NOT NULL,
    amount         NUMERIC(78, 0) NOT NULL,
    unbonding      NUMERIC(78, 0) NOT NULL,
    unlock_at      BIGINT,
    updated_block  BIGINT   NOT NULL,
    updated_at     BIGINT   NOT NULL,
    PRIMARY KEY (chain_id, registry, id)
);

-- Satellite: one row per Lite contract (watermarks, signer set, paused by equivocation).
CREATE TABLE lites (
    chain_id             BIGINT  NOT NULL,
    lite                 BYTEA   NOT NULL,
    kind                 TEXT    NOT NULL,
    last_sequence        BIGINT  NOT NULL DEFAULT 0,
    last_cursor          NUMERIC(20, 0) NOT NULL DEFAULT 0,
    last_home_timestamp  BIGINT  NOT NULL DEFAULT 0,
    signer_set_id        BIGINT  NOT NULL DEFAULT 0,
    signers              BYTEA[] NOT NULL DEFAULT '{}',
    threshold            SMALLINT NOT NULL DEFAULT 0,
    paused               BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, lite)
);

CREATE TABLE lite_batches (
    chain_id        BIGINT  NOT NULL,
    lite            BYTEA   NOT NULL,
    sequence        BIGINT  NOT NULL,
    signer_set_id   BIGINT  NOT NULL,
    from_cursor     NUMERIC(20, 0) NOT NULL,
    to_cursor       NUMERIC(20, 0) NOT NULL,
    home_timestamp  BIGINT  NOT NULL,
    count           INTEGER NOT NULL,
    updates_hash    BYTEA   NOT NULL,
    block_number    BIGINT  NOT NULL,
    tx_hash         BYTEA   NOT NULL,
    PRIMARY KEY (chain_id, lite, sequence)
);

-- Mirrored records, as the Lites hold them (cursor = home (block << 32) | logIndex of the write).
CREATE TABLE lite_identities (
    chain_id     BIGINT   NOT NULL,
    lite         BYTEA    NOT NULL,
    id           BYTEA    NOT NULL,
    owner        BYTEA    NOT NULL,
    wallet       BYTEA    NOT NULL,
    entity_type  SMALLINT NOT NULL,
    status       SMALLINT NOT NULL,     -- 1 active, 2 suspended, 3 revoked
    cursor       NUMERIC(20, 0) NOT NULL,
    PRIMARY KEY (chain_id, lite, id)
);

CREATE TABLE lite_attributes (
    chain_id    BIGINT   NOT NULL,
    lite        BYTEA    NOT NULL,
    did         BYTEA    NOT NULL,
    name        BYTEA    NOT NULL,
    stored      BYTEA,
    valid_to    BIGINT,
    value_info  SMALLINT,
    removed     BOOLEAN  NOT NULL,
    cursor      NUMERIC(20, 0) NOT NULL,
    PRIMARY KEY (chain_id, lite, did, name)
);

CREATE TABLE lite_bonds (
    chain_id   BIGINT NOT NULL,
    lite       BYTEA  NOT NULL,
    id         BYTEA  NOT NULL,
    amount     NUMERIC(78, 0) NOT NULL,
    unbonding  NUMERIC(78, 0) NOT NULL,
    cursor     NUMERIC(20, 0) NOT NULL,
    PRIMARY KEY (chain_id, lite, id)
);
