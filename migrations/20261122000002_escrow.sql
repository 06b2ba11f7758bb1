-- Escrow tables: written only by pact-indexer (same transaction as the chain cursor).

-- Every escrow event, one row per log: the audit trail. Rows with an order id and a
-- `state_after` are the order's transitions.
CREATE TABLE escrow_events (
    chain_id         BIGINT  NOT NULL,
    block_number     BIGINT  NOT NULL,
    log_index        INTEGER NOT NULL,
    tx_hash          BYTEA   NOT NULL,
    block_timestamp  BIGINT  NOT NULL,
    escrow           BYTEA   NOT NULL,
    order_id         BYTEA,                      -- NULL for contract-level events (fees, config, claims)
    event            TEXT    NOT NULL,           -- the Solidity event name, e.g. 'OrderFunded'
    actor            BYTEA,                      -- who caused it, when the event says
    state_after      TEXT,                       -- the order's state after this event (transitions)
    args             JSONB   NOT NULL,           -- every decoded field; amounts as decimal strings
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX escrow_events_order ON escrow_events (chain_id, escrow, order_id, block_number, log_index)
    WHERE order_id IS NOT NULL;

-- Current state of every order, folded from its events.
CREATE TABLE escrow_orders (
    chain_id            BIGINT  NOT NULL,
    escrow              BYTEA   NOT NULL,
    order_id            BYTEA   NOT NULL,        -- the caller-chosen bytes32
    token               BYTEA   NOT NULL,
    token_decimals      SMALLINT NOT NULL,
    buyer               BYTEA   NOT NULL,
    seller              BYTEA   NOT NULL,
    amount              NUMERIC(78, 0) NOT NULL, -- base units
    state               TEXT    NOT NULL,        -- ESCROWED | DELIVERING | PROOF_SUBMITTED | REVIEWING |
                                                 -- COMPLETED | REFUNDED | DISPUTED | RESOLVED
    state_since         BIGINT  NOT NULL,        -- unix time the state was entered
    deliver_by          BIGINT  NOT NULL,
    terms_hash          BYTEA   NOT NULL,
    fee_bps             INTEGER NOT NULL,
    review_window       BIGINT  NOT NULL,        -- seconds
    arbiter_window      BIGINT  NOT NULL,        -- seconds
    default_seller_bps  INTEGER NOT NULL,
    proof_hash          BYTEA,
    proof_uri           TEXT,
    rejections          INTEGER NOT NULL DEFAULT 0,
    settlement_proposer BYTEA,
    settlement_bps      INTEGER,
    resolution          TEXT,                    -- ARBITER | DEFAULT_RULING | SETTLEMENT (RESOLVED)
    refund_reason       TEXT,                    -- BUYER_CANCELLED | SELLER_REFUNDED | DELIVERY_EXPIRED
    buyer_paid          NUMERIC(78, 0) NOT NULL DEFAULT 0,
    seller_paid         NUMERIC(78, 0) NOT NULL DEFAULT 0,
    fee_paid            NUMERIC(78, 0) NOT NULL DEFAULT 0,
    deferred            NUMERIC(78, 0) NOT NULL DEFAULT 0, -- payouts credited as claimable
    next_action         TEXT,                    -- START_REVIEW | COMPLETE | REFUND_EXPIRED | DEFAULT_RULING
    next_action_at      BIGINT,                  -- unix time it becomes due (anyone may fire it)
    funded_block        BIGINT  NOT NULL,
    funded_tx           BYTEA   NOT NULL,
    updated_block       BIGINT  NOT NULL,
    updated_log_index   INTEGER NOT NULL,
    updated_at          BIGINT  NOT NULL,        -- block timestamp of the last event
    PRIMARY KEY (chain_id, escrow, order_id)
);
CREATE INDEX escrow_orders_buyer ON escrow_orders (buyer, updated_block DESC);
CREATE INDEX escrow_orders_seller ON escrow_orders (seller, updated_block DESC);
CREATE INDEX escrow_orders_due ON escrow_orders (chain_id, next_action_at) WHERE next_action IS NOT NULL;

-- Settings snapshots (`ConfigUpdated`); `OrderFunded` names the snapshot an order uses.
CREATE TABLE escrow_configs (
    chain_id            BIGINT  NOT NULL,
    escrow              BYTEA   NOT NULL,
    config_id           INTEGER NOT NULL,
    fee_bps             INTEGER NOT NULL,
    review_window       BIGINT  NOT NULL,
    arbiter_window      BIGINT  NOT NULL,
    default_seller_bps  INTEGER NOT NULL,
    block_number        BIGINT  NOT NULL,
    PRIMARY KEY (chain_id, escrow, config_id)
);
