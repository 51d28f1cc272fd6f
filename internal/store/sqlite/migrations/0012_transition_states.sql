-- foreign_keys: off
-- The states pausing and resuming, recorded while a pause or resume is
-- under way. SQLite cannot change a CHECK constraint in place, so the table
-- is rebuilt (SQLite's documented twelve-step procedure). The line above
-- makes the migration run with foreign keys off, as the procedure needs:
-- with them on, dropping the old table would delete the sandboxes' events,
-- metadata and metrics by their ON DELETE CASCADE. The references are
-- checked before the migration commits.

CREATE TABLE sandboxes_new (
    id                   TEXT    NOT NULL PRIMARY KEY,
    template_id          TEXT    NOT NULL,
    alias                TEXT    NOT NULL DEFAULT '',
    client_id            TEXT    NOT NULL DEFAULT '',
    state                TEXT    NOT NULL
        CHECK (state IN ('starting', 'running', 'pausing', 'paused', 'resuming', 'ended')),
    end_reason           TEXT    NOT NULL DEFAULT '',
    end_message          TEXT    NOT NULL DEFAULT '',
    cpu_count            INTEGER NOT NULL DEFAULT 0,
    memory_mb            INTEGER NOT NULL DEFAULT 0,
    disk_mb              INTEGER NOT NULL DEFAULT 0,
    envd_access_token    TEXT    NOT NULL DEFAULT '',
    runtime              TEXT    NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    started_at           INTEGER,
    end_at               INTEGER,
    ended_at             INTEGER,
    network              TEXT,
    traffic_access_token TEXT    NOT NULL DEFAULT '',
    lifecycle            TEXT,
    env_vars             TEXT,
    -- An ended sandbox always says when and why; a live one never does.
    CHECK ((state = 'ended') = (ended_at IS NOT NULL AND end_reason <> ''))
);

INSERT INTO sandboxes_new (id, template_id, alias, client_id, state, end_reason, end_message,
    cpu_count, memory_mb, disk_mb, envd_access_token, runtime, created_at, started_at, end_at,
    ended_at, network, traffic_access_token, lifecycle, env_vars)
SELECT id, template_id, alias, client_id, state, end_reason, end_message,
    cpu_count, memory_mb, disk_mb, envd_access_token, runtime, created_at, started_at, end_at,
    ended_at, network, traffic_access_token, lifecycle, env_vars
FROM sandboxes;

DROP TABLE sandboxes;
ALTER TABLE sandboxes_new RENAME TO sandboxes;

-- The indexes of the old table (0001, 0008, 0011), which went with it.
CREATE INDEX sandboxes_created ON sandboxes (created_at, id);
CREATE INDEX sandboxes_state ON sandboxes (state);
CREATE INDEX sandboxes_client_created ON sandboxes (client_id, created_at);
CREATE INDEX sandboxes_client_ended ON sandboxes (client_id, ended_at);
