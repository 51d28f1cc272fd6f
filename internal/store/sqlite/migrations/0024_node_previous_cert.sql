-- The certificate a joined node presented to the renewal that signed
-- its certificate of record: a node whose renewal answer was lost still
-- holds it, and only it may retry that renewal. '' before any renewal.
ALTER TABLE nodes ADD COLUMN previous_cert_fingerprint TEXT NOT NULL DEFAULT '';
