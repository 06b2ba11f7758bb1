-- Chain tables: written only by pact-indexer, read by the API.
-- Every event table has a natural unique key (chain_id, block_number, log_index); the cursor of a
-- chain moves in the same transaction as the rows it covers, so a crash never loses or doubles rows.

CREATE TABLE indexer_cursors (
    chain_id      BIGINT PRIMARY KEY,
    block_number  BIGINT NOT NULL,            -- last block whose logs are all written
    block_hash    BYTEA  NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The unfinalized window: hash and parent of the blocks the indexer has written, used to detect
-- reorgs (a new block whose parent is not the stored hash) and to find the fork point.
CREATE TABLE blocks (
    chain_id     BIGINT NOT NULL,
    number       BIGINT NOT NULL,
    hash         BYTEA  NOT NULL,
    parent_hash  BYTEA  NOT NULL,
    timestamp    BIGINT NOT NULL,
    PRIMARY KEY (chain_id, number)
);

-- One row per reorg handled (audit).
CREATE TABLE reorgs (
    id           BIGSERIAL PRIMARY KEY,
    chain_id     BIGINT NOT NULL,
    fork_block   BIGINT NOT NULL,             -- last block common to both branches
    old_head     BIGINT NOT NULL,
    old_hash     BYTEA  NOT NULL,
    new_head     BIGINT NOT NULL,
    new_hash     BYTEA  NOT NULL,
    detected_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ERC-20 Transfer events of the settlement tokens.
CREATE TABLE token_transfers (
    chain_id      BIGINT  NOT NULL,
    block_number  BIGINT  NOT NULL,
    log_index     INTEGER NOT NULL,
    tx_hash       BYTEA   NOT NULL,
    token         BYTEA   NOT NULL,
    sender        BYTEA   NOT NULL,
    recipient     BYTEA   NOT NULL,
    amount        NUMERIC(78, 0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
