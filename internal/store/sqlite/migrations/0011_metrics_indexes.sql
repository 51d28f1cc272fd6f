-- Pruning deletes the history by age alone, every resolution at once:
-- without this index each pass read the whole table.
CREATE INDEX sandbox_metrics_age ON sandbox_metrics (time);

-- Team metrics read a team's live sandboxes and those ended after a
-- time, not every sandbox the team ever had.
CREATE INDEX sandboxes_client_ended ON sandboxes (client_id, ended_at);
