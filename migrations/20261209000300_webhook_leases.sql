-- Webhook deliveries are leased, not locked across the request (api/src/webhooks.rs). A worker
-- claims due rows in a short transaction (FOR UPDATE SKIP LOCKED, then sets `claimed_until` and
-- bumps `claims`), sends them outside any transaction, and records each outcome in its own short
-- transaction only while `claims` still holds the value its claim set: a claim that expired and
-- was taken again by another worker records nothing. A worker that dies leaves its lease to
-- expire; the row is then claimed again under the same attempt number.
--
-- `claimed_until` is on the database's clock (clock_timestamp()), which every replica shares; the
-- retry schedule (`next_attempt_at`) stays on the API's injectable clock.
ALTER TABLE webhook_deliveries
    ADD COLUMN claimed_until TIMESTAMPTZ,           -- no other worker may claim it before this
    ADD COLUMN claims        BIGINT NOT NULL DEFAULT 0;  -- claims so far: the current claim's token
