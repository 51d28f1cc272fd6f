-- A sandbox's network configuration as its client gave it (JSON, E2B's
-- field names; NULL: E2B's defaults) and the token that guards its user
-- ports when public traffic is off ('' when it is on).
ALTER TABLE sandboxes ADD COLUMN network TEXT;
ALTER TABLE sandboxes ADD COLUMN traffic_access_token TEXT NOT NULL DEFAULT '';
