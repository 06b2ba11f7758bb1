-- Every text-valued state column accepts only its known names, so a writer that drifts from the
-- definitions fails its transaction instead of storing a name no reader knows. The escrow names
-- are the members of IPactEscrow's Solidity enums; the app and relayer names are pact-db's
-- `states` enums. pact-db's tests compare each constraint below with those definitions.
-- Names follow PostgreSQL's default `<table>_<column>_check`, like the inline checks before.

ALTER TABLE escrow_orders
    ADD CONSTRAINT escrow_orders_state_check CHECK (state IN (
        'ESCROWED', 'DELIVERING', 'PROOF_SUBMITTED', 'REVIEWING', 'COMPLETED', 'REFUNDED', 'DISPUTED', 'RESOLVED')),
    ADD CONSTRAINT escrow_orders_next_action_check CHECK (next_action IN (
        'START_REVIEW', 'COMPLETE', 'REFUND_EXPIRED', 'DEFAULT_RULING')),
    ADD CONSTRAINT escrow_orders_resolution_check CHECK (resolution IN (
        'ARBITER', 'DEFAULT_RULING', 'SETTLEMENT')),
    ADD CONSTRAINT escrow_orders_refund_reason_check CHECK (refund_reason IN (
        'BUYER_CANCELLED', 'SELLER_REFUNDED', 'DELIVERY_EXPIRED'));

ALTER TABLE escrow_events
    ADD CONSTRAINT escrow_events_state_after_check CHECK (state_after IN (
        'ESCROWED', 'DELIVERING', 'PROOF_SUBMITTED', 'REVIEWING', 'COMPLETED', 'REFUNDED', 'DISPUTED', 'RESOLVED'));

ALTER TABLE relayer_txs
    ADD CONSTRAINT relayer_txs_status_check CHECK (status IN ('sent', 'mined', 'replaced'));  -- 'failed' was documented but never written
