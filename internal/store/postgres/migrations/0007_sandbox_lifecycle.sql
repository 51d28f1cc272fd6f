-- What a sandbox does at its timeout and on traffic while paused (JSON,
-- store.Lifecycle's fields; NULL: killed at timeout, no auto-resume).
ALTER TABLE sandboxes ADD COLUMN lifecycle TEXT;
