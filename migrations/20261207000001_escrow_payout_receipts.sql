-- What each escrow payout actually credited, from the token's own Transfer logs (issue 15, item 4).
--
-- A payout event (OrderCompleted, OrderRefunded, OrderResolved, Claimed, FeesWithdrawn, Rescued) states
-- what the escrow SENT. A token that charges a fee on transfer after funding (USDT's `setParams`) credits the
-- recipient less; its `Transfer(escrow -> recipient)` log in the same transaction says what arrived. The
-- transfers of one payout are those from the escrow between the previous payout event of the same escrow in
-- the same transaction and this one (`advanceMany` pays several orders in one transaction; a payout's
-- `PayoutDeferred` sits between its transfers and is not a boundary). Both tables are written by the
-- indexer exactly once per log and removed with their block on a reorg, so this view is reorg-safe by
-- construction. One row per (payout event, recipient); a token's fee recipient appears as a recipient.
CREATE VIEW escrow_payout_receipts AS
SELECT e.chain_id,
       e.escrow,
       e.order_id,
       e.block_number,
       e.log_index,
       e.tx_hash,
       e.event,
       t.token,
       t.recipient,
       sum(t.amount) AS received
FROM escrow_events e
JOIN token_transfers t
  ON t.chain_id = e.chain_id
 AND t.block_number = e.block_number
 AND t.tx_hash = e.tx_hash
 AND t.sender = e.escrow
 AND t.log_index < e.log_index
 AND t.log_index > COALESCE((
        SELECT max(p.log_index)
        FROM escrow_events p
        WHERE p.chain_id = e.chain_id
          AND p.block_number = e.block_number
          AND p.tx_hash = e.tx_hash
          AND p.escrow = e.escrow
          AND p.log_index < e.log_index
          AND p.event IN ('OrderCompleted', 'OrderRefunded', 'OrderResolved', 'Claimed', 'FeesWithdrawn', 'Rescued')
     ), -1)
WHERE e.event IN ('OrderCompleted', 'OrderRefunded', 'OrderResolved', 'Claimed', 'FeesWithdrawn', 'Rescued')
GROUP BY e.chain_id, e.escrow, e.order_id, e.block_number, e.log_index, e.tx_hash, e.event, t.token, t.recipient;
