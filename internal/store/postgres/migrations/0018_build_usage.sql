-- The build time a team spent, one row per build that started building:
-- a ledger apart from template_builds, which go with their template, so
-- that deleting a template does not give its build minutes back. Rows
-- are written when a build starts and ends, and deleted once they left
-- the build-minute window.
CREATE TABLE build_usage (
    build_id    TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX build_usage_team ON build_usage (team, started_at);
INSERT INTO build_usage (build_id, team, started_at, finished_at)
    SELECT b.id, t.team, b.started_at, b.finished_at
    FROM template_builds b JOIN templates t ON t.id = b.template_id
    WHERE b.started_at IS NOT NULL;
