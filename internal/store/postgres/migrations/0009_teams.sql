-- Teams own keys, sandboxes and templates. Deleting a team removes its
-- row and revokes its keys; its records keep the team's id.
CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Limits on the team's live sandboxes; 0 is none.
    quota_sandboxes INTEGER NOT NULL DEFAULT 0,
    quota_cpus      INTEGER NOT NULL DEFAULT 0,
    quota_memory_mb INTEGER NOT NULL DEFAULT 0
);
-- The built-in team of the server's administrators, and a team for every
-- team a key already named.
INSERT INTO teams (id, name, created_at)
    VALUES ('default', 'admin', (EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT);
INSERT INTO teams (id, name, created_at)
    SELECT team, team, MIN(created_at) FROM api_keys WHERE team <> 'default' GROUP BY team;
-- A key's role in its team and, if not empty, the comma-separated scopes
-- it is limited to. The setup admin key owns the built-in team; other
-- keys made before roles develop in theirs.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'developer';
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET role = 'owner' WHERE admin;
CREATE INDEX api_keys_team ON api_keys (team, created_at, id);

-- The audit log, hash-chained: each entry's hash covers its fields and
-- the hash before it (store.AuditHash). Appends take an advisory lock
-- (postgres/audit.go), so ids follow the chain.
CREATE TABLE audit (
    id         BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    team       TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    remote     TEXT NOT NULL,
    status     INTEGER NOT NULL,
    message    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_team ON audit (team, id);
CREATE INDEX audit_at ON audit (at);
-- The id and hash of the last entry retention deleted: the first kept
-- entry follows it.
CREATE TABLE audit_anchor (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id BIGINT NOT NULL,
    hash    TEXT NOT NULL
);
