-- MOI participant binding (api/src/moi.rs): a single-use challenge naming the participant id and
-- the public key that signs it, and the participants bound to agents (one agent per participant).
CREATE TABLE moi_challenges (
    nonce           TEXT   PRIMARY KEY,
    agent_id        BIGINT NOT NULL REFERENCES agents(id),
    participant_id  BYTEA  NOT NULL CHECK (octet_length(participant_id) = 32),
    public_key      BYTEA  NOT NULL CHECK (octet_length(public_key) = 33),
    message         TEXT   NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

CREATE TABLE agent_moi_participants (
    participant_id  BYTEA  PRIMARY KEY CHECK (octet_length(participant_id) = 32),
    agent_id        BIGINT NOT NULL REFERENCES agents(id),
    public_key      BYTEA  NOT NULL CHECK (octet_length(public_key) = 33),
    bound_at        BIGINT NOT NULL
);
CREATE INDEX agent_moi_participants_agent ON agent_moi_participants (agent_id);
