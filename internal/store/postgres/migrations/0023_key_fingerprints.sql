-- A fingerprint of each key the control planes of this store share
-- (audit.key, token.key, secrets.key, the node CA), recorded by the
-- first to start: one started with other keys is refused.
CREATE TABLE key_fingerprints (
    name        TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
