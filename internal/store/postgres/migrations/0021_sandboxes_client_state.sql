-- A team's sandboxes in a state (a list of its running ones, the most
-- asked) are found without reading the team's history of ended ones.
CREATE INDEX sandboxes_client_state ON sandboxes (client_id, state, created_at);
