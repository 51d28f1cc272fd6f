-- Where a paused sandbox's checkpoint is in object storage: the blob's
-- content digest and size, recorded once its upload completed. No row:
-- the checkpoint is only on the node's disk (or the sandbox was not
-- paused with its memory).
CREATE TABLE checkpoint_objects (
    sandbox_id TEXT    NOT NULL PRIMARY KEY REFERENCES sandboxes (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    size       BIGINT  NOT NULL,
    stored_at  BIGINT  NOT NULL
);
