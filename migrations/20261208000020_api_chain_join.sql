-- The API reads chain state with a join at query time (pact-api, api/src/orders/mod.rs): an app
-- order is FUNDED while the indexer mirrors its escrow order, and a negotiation is CANCELLED while
-- another order on its listing is funded. Only the indexer handles reorgs: when it removes rows,
-- the join reads the state they leave. Replaces the API's block cursor and rewind handler
-- (20261122000031_api_reorg.sql).

-- 1. The indexer's own event ids: `seq` numbers the escrow events in the order they are written.
--    The indexer writes one chain in one transaction at a time and only ever removes the events
--    above a fork, so within a chain `seq` grows with (block_number, log_index). Existing rows are
--    numbered in that order.
ALTER TABLE escrow_events ADD COLUMN seq BIGINT;
UPDATE escrow_events e SET seq = n.seq
FROM (SELECT chain_id, block_number, log_index,
             row_number() OVER (ORDER BY chain_id, block_number, log_index) AS seq
      FROM escrow_events) n
WHERE e.chain_id = n.chain_id AND e.block_number = n.block_number AND e.log_index = n.log_index;
CREATE SEQUENCE escrow_events_seq OWNED BY escrow_events.seq;
SELECT setval('escrow_events_seq', COALESCE((SELECT max(seq) FROM escrow_events), 0) + 1, false);
ALTER TABLE escrow_events
    ALTER COLUMN seq SET DEFAULT nextval('escrow_events_seq'),
    ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX escrow_events_chain_seq ON escrow_events (chain_id, seq);

-- 2. How far the API has turned each chain's events into `order.updated` webhooks: the last
--    `seq` handled (a watermark on the indexer's ids, moved in the transaction that enqueues).
CREATE TABLE api_chain_watermarks (
    chain_id  BIGINT PRIMARY KEY,
    seq       BIGINT NOT NULL
);
INSERT INTO api_chain_watermarks (chain_id, seq)
SELECT c.chain_id, COALESCE((SELECT max(e.seq) FROM escrow_events e
                             WHERE e.chain_id = c.chain_id AND e.block_number <= c.block_number), 0)
FROM api_chain_cursors c;

-- 3. What the API last announced of the chain's effect on an app order (so each change is
--    announced once): `FUNDED` (its own funding), `CANCELLED` (another order on its listing was
--    funded) or NULL, the `seq` of the OrderFunded event that announcement rests on, and how many
--    such announcements were made (numbering their deliveries).
ALTER TABLE app_orders
    ADD COLUMN chain_status  TEXT CHECK (chain_status IN ('FUNDED', 'CANCELLED')),
    ADD COLUMN chain_seq     BIGINT,
    ADD COLUMN chain_notices INTEGER NOT NULL DEFAULT 0;
UPDATE app_orders o SET chain_status = 'FUNDED', status = 'AWAITING_PAY',
    chain_seq = (SELECT max(e.seq) FROM escrow_events e
                 WHERE e.chain_id = o.chain_id AND e.escrow = o.escrow AND e.order_id = o.order_id
                   AND e.event = 'OrderFunded')
WHERE o.status = 'FUNDED';
UPDATE app_orders o SET chain_status = 'CANCELLED', status = o.cancelled_from,
    chain_seq = (SELECT max(e.seq) FROM escrow_events e JOIN app_orders f ON f.order_id = o.cancelled_by
                 WHERE e.chain_id = f.chain_id AND e.escrow = f.escrow AND e.order_id = f.order_id
                   AND e.event = 'OrderFunded')
WHERE o.status = 'CANCELLED' AND o.cancelled_by IS NOT NULL;

-- The stored status is the app's own: FUNDED and the cancellation by a funding are derived.
ALTER TABLE app_orders DROP CONSTRAINT app_orders_status_check;
ALTER TABLE app_orders ADD CONSTRAINT app_orders_status_check
    CHECK (status IN ('NEGOTIATING', 'AWAITING_PAY', 'CANCELLED'));
DROP INDEX app_orders_funded;
DROP INDEX app_orders_cancelled_by;
ALTER TABLE app_orders DROP COLUMN funded_block, DROP COLUMN cancelled_by, DROP COLUMN cancelled_from;
DROP TABLE api_chain_cursors;

-- The rivals of an order on its listing, and the announcements a removed funding can affect.
CREATE INDEX app_orders_listing_all ON app_orders (listing_id);
CREATE INDEX app_orders_chain_seq ON app_orders (chain_id, chain_seq) WHERE chain_seq IS NOT NULL;
