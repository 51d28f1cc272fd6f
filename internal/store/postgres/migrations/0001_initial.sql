-- The schema of the SQLite backend's migration of the same number, in
-- PostgreSQL's types: a schema version means the same on both backends.
-- Times are BIGINT microseconds since the Unix epoch, UTC, as there.
-- NULL means unset.

CREATE TABLE sandboxes (
    id                TEXT    NOT NULL PRIMARY KEY,
    template_id       TEXT    NOT NULL,
    alias             TEXT    NOT NULL DEFAULT '',
    client_id         TEXT    NOT NULL DEFAULT '',
    state             TEXT    NOT NULL
        CHECK (state IN ('starting', 'running', 'paused', 'ended')),
    end_reason        TEXT    NOT NULL DEFAULT '',
    end_message       TEXT    NOT NULL DEFAULT '',
    cpu_count         INTEGER NOT NULL DEFAULT 0,
    memory_mb         INTEGER NOT NULL DEFAULT 0,
    disk_mb           INTEGER NOT NULL DEFAULT 0,
    envd_access_token TEXT    NOT NULL DEFAULT '',
    runtime           TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL,
    started_at        BIGINT,
    end_at            BIGINT,
    ended_at          BIGINT,
    -- An ended sandbox always says when and why; a live one never does.
    CHECK ((state = 'ended') = (ended_at IS NOT NULL AND end_reason <> ''))
);

-- ListSandboxes orders by (created_at, id) and most often filters by state.
CREATE INDEX sandboxes_created ON sandboxes (created_at, id);
CREATE INDEX sandboxes_state ON sandboxes (state);

CREATE TABLE sandbox_metadata (
    sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (sandbox_id, name)
);

-- Metadata filters look sandboxes up by entry.
CREATE INDEX sandbox_metadata_entry ON sandbox_metadata (name, value);

-- The ids order the events as they were recorded (SQLite's rowid there).
-- The identity column gives an id at insert, not at commit: the backend
-- takes an advisory lock before each insert, held until its transaction
-- ends, so that ids also become visible in order and a reader tailing by
-- id never passes over one that commits late.
CREATE TABLE events (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sandbox_id TEXT    NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    time       BIGINT  NOT NULL,
    type       TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX events_sandbox ON events (sandbox_id, id);
