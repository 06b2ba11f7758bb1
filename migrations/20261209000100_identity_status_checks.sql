-- The identity status columns accept only the statuses an identity can have: the members of the
-- Solidity enum IIdentityRegistry.Status (`pact_bindings::identity_status::Status`) but NONE, the
-- status of an unknown id, which is never stored. The home registry's projection stores the name,
-- a Lite's mirror the discriminant (the status byte of a SET_IDENTITY update, as the Lite holds it):
-- a batch carrying another byte stops the indexer at that batch instead of mirroring a status no
-- reader knows. pact-db's tests compare both constraints with the Rust enum.
-- Names follow PostgreSQL's default `<table>_<column>_check`.

ALTER TABLE identities
    ADD CONSTRAINT identities_status_check CHECK (status IN ('ACTIVE', 'SUSPENDED', 'REVOKED'));

ALTER TABLE lite_identities
    ADD CONSTRAINT lite_identities_status_check CHECK (status IN (1, 2, 3));
