-- The states pausing and resuming, recorded while a pause or resume is
-- under way. The constraint is the one 0001 declared on the column, which
-- PostgreSQL names sandboxes_state_check.
ALTER TABLE sandboxes DROP CONSTRAINT sandboxes_state_check;
ALTER TABLE sandboxes ADD CONSTRAINT sandboxes_state_check
    CHECK (state IN ('starting', 'running', 'pausing', 'paused', 'resuming', 'ended'));
