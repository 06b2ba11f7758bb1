-- Relayer tables: written by pact-relayer's signer daemons, relayers and keeper.
-- `lite` is the Lite contract address on satellite chain `chain_id`.

-- Batches the signer daemons built, by digest (several digests may exist for one sequence when
-- a daemon is faulty; the relayer recomputes every digest itself and trusts none of these rows).
CREATE TABLE relayer_batches (
    chain_id        BIGINT NOT NULL,
    lite            BYTEA  NOT NULL,
    signer_set_id   BIGINT NOT NULL,
    sequence        BIGINT NOT NULL,
    digest          BYTEA  NOT NULL,
    source_chain_id BIGINT NOT NULL,
    from_cursor     BIGINT NOT NULL,           -- uint64 cursor; fits (home block < 2^31)
    to_cursor       BIGINT NOT NULL,
    home_timestamp  BIGINT NOT NULL,
    count           INTEGER NOT NULL,
    updates_hash    BYTEA  NOT NULL,
    packed_updates  BYTEA  NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, lite, signer_set_id, sequence, digest)
);

-- Published signatures. An honest daemon writes at most one digest per (chain, Lite, signer set,
-- sequence, signer): before signing it looks for any row of its own with another digest and
-- refuses (its equivocation guard). The digest is part of the key so that a daemon that bypasses
-- the guard leaves both signatures here, and relayers report it on chain (reportEquivocation).
CREATE TABLE relayer_signatures (
    chain_id        BIGINT NOT NULL,
    lite            BYTEA  NOT NULL,
    signer_set_id   BIGINT NOT NULL,
    sequence        BIGINT NOT NULL,
    signer          BYTEA  NOT NULL,
    digest          BYTEA  NOT NULL,
    signature       BYTEA  NOT NULL,           -- 65 bytes r || s || v, v in {27, 28}, low s
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, lite, signer_set_id, sequence, signer, digest)
);

-- Persisted nonce manager: the next nonce per sending account, reconciled with the chain at start.
CREATE TABLE relayer_nonces (
    chain_id        BIGINT NOT NULL,
    address         BYTEA  NOT NULL,
    next_nonce      BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, address)
);

-- Every transaction broadcast (one row per attempt; replacements share the nonce).
CREATE TABLE relayer_txs (
    id                       BIGSERIAL PRIMARY KEY,
    chain_id                 BIGINT NOT NULL,
    address                  BYTEA  NOT NULL,
    nonce                    BIGINT NOT NULL,
    tx_hash                  BYTEA  NOT NULL,
    max_fee_per_gas          NUMERIC(78, 0) NOT NULL,
    max_priority_fee_per_gas NUMERIC(78, 0) NOT NULL,
    purpose                  TEXT   NOT NULL,  -- e.g. 'applyBatch:<lite>:<sequence>', 'advanceMany'
    status                   TEXT   NOT NULL DEFAULT 'sent',  -- sent | mined | replaced | failed
    gas_used                 BIGINT,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX relayer_txs_nonce ON relayer_txs (chain_id, address, nonce);

-- Alerts raised by the relayer (invalid signatures, conflicting digests, refused equivocation).
CREATE TABLE relayer_alerts (
    id              BIGSERIAL PRIMARY KEY,
    chain_id        BIGINT NOT NULL,
    lite            BYTEA,
    kind            TEXT   NOT NULL,
    detail          JSONB  NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Keeper: escrow orders seen through OrderFunded, until they reach a terminal state.
CREATE TABLE relayer_keeper_orders (
    chain_id        BIGINT NOT NULL,
    escrow          BYTEA  NOT NULL,
    order_id        BYTEA  NOT NULL,
    done            BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, escrow, order_id)
);
CREATE TABLE relayer_keeper_cursors (
    chain_id        BIGINT NOT NULL,
    escrow          BYTEA  NOT NULL,
    block_number    BIGINT NOT NULL,           -- last block scanned for OrderFunded
    PRIMARY KEY (chain_id, escrow)
);
