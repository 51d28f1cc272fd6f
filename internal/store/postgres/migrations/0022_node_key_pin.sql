-- The hex SHA-256 of the public key a joined node holds (its CSR's, in
-- both its client and its serving certificate): the control plane
-- accepts the node's sandbox service only under that key. '' for a
-- node recorded before keys were pinned, until its next heartbeat.
ALTER TABLE nodes ADD COLUMN key_fingerprint TEXT NOT NULL DEFAULT '';
