-- The control plane's registry of nodes and their one-use join tokens
-- (hashes only).
CREATE TABLE node_tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    used_by    TEXT NOT NULL DEFAULT '',
    revoked_at BIGINT
);
CREATE INDEX node_tokens_created ON node_tokens (created_at, id);
CREATE TABLE nodes (
    id               TEXT PRIMARY KEY,
    embedded         BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT NOT NULL,
    status_reason    TEXT NOT NULL DEFAULT '',
    status_by        TEXT NOT NULL DEFAULT '',
    status_at        BIGINT NOT NULL,
    cert_fingerprint TEXT NOT NULL DEFAULT '',
    joined_at        BIGINT NOT NULL,
    heartbeat_at     BIGINT,
    report           TEXT
);
CREATE INDEX nodes_joined ON nodes (joined_at, id);
