-- Fixed-window rate limits of pact-api (api/src/ratelimit.rs), in PostgreSQL so that every
-- replica counts against the same windows. One row per limited key (`register:<ip>`,
-- `key:<api key id>`): the requests counted in the window that ends at `resets_at` (unix
-- seconds). UNLOGGED: counters need no crash safety, and a crash at worst resets a window.
CREATE UNLOGGED TABLE api_rate_limits (
    key        TEXT    PRIMARY KEY,
    resets_at  BIGINT  NOT NULL,
    hits       INTEGER NOT NULL
);
CREATE INDEX api_rate_limits_resets ON api_rate_limits (resets_at);
