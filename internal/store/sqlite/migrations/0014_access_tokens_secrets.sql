-- The access tokens the server issued, by their jti, so that one can be
-- revoked before it expires. A record is deleted once its token has
-- expired.
CREATE TABLE access_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    team       TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- Teams' secrets: the value only sealed (AES-256-GCM under a key kept
-- outside the database, the team and secret ids bound to it), never in
-- the clear.
CREATE TABLE secrets (
    id          TEXT    NOT NULL PRIMARY KEY,
    team        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    allowlist   TEXT    NOT NULL DEFAULT '[]',
    sealed      BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (team, label)
);
CREATE INDEX secrets_team ON secrets (team, created_at, id);
