-- Application tables of pact-api. Times are unix seconds (BIGINT) so the API's injected clock
-- governs expiry, retries and deadlines. Chain tables (escrow_*) are only read.

-- Settlement tokens the API accepts in listings and negotiations (seeded from deployment files).
CREATE TABLE api_tokens (
    chain_id   BIGINT   NOT NULL,
    token      BYTEA    NOT NULL,
    escrow     BYTEA    NOT NULL,
    decimals   SMALLINT NOT NULL CHECK (decimals BETWEEN 0 AND 36),
    PRIMARY KEY (chain_id, token)
);

CREATE TABLE agents (
    id              BIGSERIAL PRIMARY KEY,
    handle          TEXT   NOT NULL,
    display_name    TEXT   NOT NULL,
    webhook_url     TEXT,
    webhook_secret  TEXT,                 -- HMAC key; needed in clear to sign, never logged
    created_at      BIGINT NOT NULL,
    CONSTRAINT agents_handle_key UNIQUE (handle)
);

-- API keys: only SHA-256 of the key is stored.
CREATE TABLE agent_keys (
    id          BIGSERIAL PRIMARY KEY,
    agent_id    BIGINT NOT NULL REFERENCES agents(id),
    key_hash    BYTEA  NOT NULL,
    prefix      TEXT   NOT NULL,          -- first characters, to tell keys apart
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CONSTRAINT agent_keys_hash_key UNIQUE (key_hash)
);
CREATE INDEX agent_keys_agent ON agent_keys (agent_id);

-- Single-use EIP-191 challenges for binding a wallet address to an agent.
CREATE TABLE identity_challenges (
    nonce       TEXT   PRIMARY KEY,
    agent_id    BIGINT NOT NULL REFERENCES agents(id),
    address     BYTEA  NOT NULL,
    message     TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE agent_addresses (
    address   BYTEA  NOT NULL,
    agent_id  BIGINT NOT NULL REFERENCES agents(id),
    bound_at  BIGINT NOT NULL,
    CONSTRAINT agent_addresses_pkey PRIMARY KEY (address)
);
CREATE INDEX agent_addresses_agent ON agent_addresses (agent_id);

CREATE TABLE listings (
    id              BIGSERIAL PRIMARY KEY,
    agent_id        BIGINT   NOT NULL REFERENCES agents(id),
    kind            TEXT     NOT NULL CHECK (kind IN ('offer', 'bounty')),
    title           TEXT     NOT NULL,
    description     TEXT     NOT NULL,
    category        TEXT     NOT NULL,
    tags            TEXT[]   NOT NULL DEFAULT '{}',
    price           NUMERIC  NOT NULL CHECK (price > 0),   -- in token units (not base units)
    chain_id        BIGINT   NOT NULL,
    token           BYTEA    NOT NULL,
    token_decimals  SMALLINT NOT NULL,
    status          TEXT     NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      BIGINT   NOT NULL,
    updated_at      BIGINT   NOT NULL,
    search          TSVECTOR GENERATED ALWAYS AS (
                        setweight(to_tsvector('english', title), 'A') ||
                        setweight(to_tsvector('english', category), 'B') ||
                        setweight(to_tsvector('english', description), 'C')) STORED,
    FOREIGN KEY (chain_id, token) REFERENCES api_tokens (chain_id, token)
);
CREATE INDEX listings_search ON listings USING GIN (search);
CREATE INDEX listings_tags ON listings USING GIN (tags);
CREATE INDEX listings_newest ON listings (status, id DESC);
CREATE INDEX listings_price ON listings (status, price, id);
CREATE INDEX listings_category ON listings (status, category, id DESC);

-- Orders as the app knows them before (and besides) the chain: a negotiation on a listing with
-- its caller-chosen bytes32 order id. The thread of the order hangs off this row.
CREATE TABLE app_orders (
    order_id        BYTEA    PRIMARY KEY CHECK (length(order_id) = 32),
    listing_id      BIGINT   NOT NULL REFERENCES listings(id),
    buyer_agent     BIGINT   NOT NULL REFERENCES agents(id),
    seller_agent    BIGINT   NOT NULL REFERENCES agents(id),
    chain_id        BIGINT   NOT NULL,
    escrow          BYTEA    NOT NULL,
    token           BYTEA    NOT NULL,
    token_decimals  SMALLINT NOT NULL,
    status          TEXT     NOT NULL CHECK (status IN ('NEGOTIATING', 'AWAITING_PAY', 'FUNDED', 'CANCELLED')),
    terms_version   INTEGER  NOT NULL DEFAULT 0,
    amount          NUMERIC(78, 0),          -- base units, from the current terms
    deliver_by      BIGINT,
    seller_address  BYTEA,
    details         TEXT,
    buyer_agreed    INTEGER,                 -- terms_version the buyer agreed to
    seller_agreed   INTEGER,
    terms_hash      BYTEA,
    created_at      BIGINT   NOT NULL,
    updated_at      BIGINT   NOT NULL
);
CREATE INDEX app_orders_listing ON app_orders (listing_id) WHERE status IN ('NEGOTIATING', 'AWAITING_PAY');
CREATE INDEX app_orders_buyer ON app_orders (buyer_agent, created_at DESC);
CREATE INDEX app_orders_seller ON app_orders (seller_agent, created_at DESC);

CREATE TABLE messages (
    id          BIGSERIAL PRIMARY KEY,
    order_id    BYTEA  NOT NULL REFERENCES app_orders(order_id),
    author      BIGINT NOT NULL REFERENCES agents(id),
    body        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX messages_thread ON messages (order_id, id);

-- Webhook outbox and delivery log in one table: a row is a delivery job until it is delivered or
-- dead-lettered, then it is the log. Workers take due rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    agent_id         BIGINT NOT NULL REFERENCES agents(id),
    event            TEXT   NOT NULL,
    dedup_key        TEXT   NOT NULL,
    payload          JSONB  NOT NULL,
    status           TEXT   NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,  -- attempts so far (numbering the attempt log)
    schedule_start   INTEGER NOT NULL DEFAULT 0,  -- attempts before the last manual redelivery
    next_attempt_at  BIGINT NOT NULL,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    CONSTRAINT webhook_deliveries_dedup UNIQUE (agent_id, event, dedup_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_agent ON webhook_deliveries (agent_id, id DESC);

CREATE TABLE webhook_attempts (
    delivery_id  BIGINT  NOT NULL REFERENCES webhook_deliveries(id),
    attempt      INTEGER NOT NULL,
    at           BIGINT  NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- How far the API has turned chain events into webhooks, per chain (survives restarts).
CREATE TABLE api_chain_cursors (
    chain_id      BIGINT PRIMARY KEY,
    block_number  BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    scope          TEXT   NOT NULL,         -- sha256 of the bearer key, or the client IP
    key            TEXT   NOT NULL,
    request_hash   BYTEA  NOT NULL,
    status_code    INTEGER,                 -- NULL while the first request is in flight
    response_body  BYTEA,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Read paths of the API over the indexer's table: recent orders and amounts.
CREATE INDEX escrow_orders_recent ON escrow_orders (updated_block DESC, order_id DESC);
CREATE INDEX escrow_orders_order_id ON escrow_orders (order_id);

-- Named high-water marks of periodic scans (e.g. the deadline scan), surviving restarts.
CREATE TABLE api_scan_cursors (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
