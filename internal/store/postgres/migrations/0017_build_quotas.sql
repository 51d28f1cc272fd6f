-- Team limits on what its templates and snapshots occupy on disk and on
-- the build time it spends over a rolling window; 0 is none. A build
-- records when it started building, so that its time is what it ran.
ALTER TABLE teams ADD COLUMN quota_disk_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN quota_build_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE template_builds ADD COLUMN started_at BIGINT;
