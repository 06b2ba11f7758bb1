-- A funding reorged out (pact-api, api/src/chain.rs): the app remembers the block of the
-- OrderFunded that made an order FUNDED and which negotiations that funding cancelled, so when the
-- indexer rewinds the chain below that block the order returns to AWAITING_PAY and the cancelled
-- negotiations to the status they had.
ALTER TABLE app_orders
    ADD COLUMN funded_block   BIGINT,   -- block of the OrderFunded event (status FUNDED)
    ADD COLUMN cancelled_by   BYTEA,    -- the funded order whose funding cancelled this one
    ADD COLUMN cancelled_from TEXT;     -- the status before that cancellation
CREATE INDEX app_orders_funded ON app_orders (chain_id, funded_block) WHERE status = 'FUNDED';
CREATE INDEX app_orders_cancelled_by ON app_orders (cancelled_by) WHERE cancelled_by IS NOT NULL;
UPDATE app_orders o SET funded_block = e.funded_block
FROM escrow_orders e
WHERE o.status = 'FUNDED' AND e.chain_id = o.chain_id AND e.escrow = o.escrow AND e.order_id = o.order_id;

-- The last row of the indexer's `reorgs` audit table the API has applied, per chain: a rewind is
-- applied exactly once, also when its NOTIFY was missed (the API was down).
ALTER TABLE api_chain_cursors ADD COLUMN reorg_id BIGINT NOT NULL DEFAULT 0;
UPDATE api_chain_cursors c
SET reorg_id = COALESCE((SELECT max(r.id) FROM reorgs r WHERE r.chain_id = c.chain_id), 0);
