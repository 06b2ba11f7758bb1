-- Identity challenges serve two proofs (api/src/identity.rs): a wallet by EIP-191 (`subject` is
-- the 20-byte address) and a MOI participant by MOI's ECDSA_S256 signature (`subject` is the
-- 32-byte participant id, `public_key` the 33-byte compressed key that signs).
ALTER TABLE identity_challenges RENAME COLUMN address TO subject;
ALTER TABLE identity_challenges
    ADD COLUMN scheme TEXT NOT NULL DEFAULT 'eip191'
        CONSTRAINT identity_challenges_scheme_check CHECK (scheme IN ('eip191', 'moi')),
    ADD COLUMN public_key BYTEA,
    ADD CONSTRAINT identity_challenges_subject_shape CHECK (
        (scheme = 'eip191' AND octet_length(subject) = 20 AND public_key IS NULL)
        OR (scheme = 'moi' AND octet_length(subject) = 32 AND octet_length(public_key) = 33));
ALTER TABLE identity_challenges ALTER COLUMN scheme DROP DEFAULT;

-- MOI participants bound to agents (one agent per participant).
CREATE TABLE agent_moi_participants (
    participant_id  BYTEA  PRIMARY KEY CHECK (octet_length(participant_id) = 32),
    agent_id        BIGINT NOT NULL REFERENCES agents(id),
    public_key      BYTEA  NOT NULL CHECK (octet_length(public_key) = 33),
    bound_at        BIGINT NOT NULL
);
CREATE INDEX agent_moi_participants_agent ON agent_moi_participants (agent_id);
