-- The create's environment variables (JSON object; NULL: none), handed
-- again to the fresh agent of a sandbox booted from its filesystem.
ALTER TABLE sandboxes ADD COLUMN env_vars TEXT;
