-- When a key last opened the API (microseconds, as every time); NULL while
-- it never has. 0002 is released, so the column comes in its own migration.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
