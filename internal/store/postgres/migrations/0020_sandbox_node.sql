-- The node a sandbox runs on: a joined node's name, or '' for the
-- server's embedded node (every sandbox recorded before nodes ran any).
ALTER TABLE sandboxes ADD COLUMN node TEXT NOT NULL DEFAULT '';
