-- The template registry: templates, the names they answer to, their builds,
-- tags pointing at builds, and build logs.
CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    team       TEXT NOT NULL,
    public     BOOLEAN NOT NULL DEFAULT FALSE,
    cpu_count  INTEGER NOT NULL,
    memory_mb  INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE template_names (
    name        TEXT PRIMARY KEY,
    template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL
);
CREATE INDEX template_names_template ON template_names (template_id, position);
CREATE TABLE template_builds (
    id          TEXT PRIMARY KEY,
    template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    reason_step TEXT NOT NULL DEFAULT '',
    cpu_count   INTEGER NOT NULL,
    memory_mb   INTEGER NOT NULL,
    request     TEXT NOT NULL DEFAULT '',
    layers      TEXT NOT NULL DEFAULT '[]',
    size_bytes  BIGINT NOT NULL DEFAULT 0,
    env         TEXT NOT NULL DEFAULT '{}',
    workdir     TEXT NOT NULL DEFAULT '',
    user_name   TEXT NOT NULL DEFAULT '',
    start_cmd   TEXT NOT NULL DEFAULT '',
    ready_cmd   TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX template_builds_template ON template_builds (template_id, created_at, id);
CREATE INDEX template_builds_status ON template_builds (status);
CREATE TABLE template_tags (
    template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    build_id    TEXT NOT NULL REFERENCES template_builds (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (template_id, tag)
);
CREATE TABLE template_build_logs (
    build_id TEXT NOT NULL REFERENCES template_builds (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       BIGINT NOT NULL,
    level    TEXT NOT NULL,
    step     TEXT NOT NULL DEFAULT '',
    message  TEXT NOT NULL,
    PRIMARY KEY (build_id, seq)
);
