-- A template's warm pool as set through the API: JSON {min, max, prewarm};
-- NULL leaves it to the server's configuration.
ALTER TABLE templates ADD COLUMN pool TEXT;
