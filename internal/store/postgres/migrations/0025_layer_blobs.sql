-- Where template layers are in object storage: each layer's archive
-- (content digest and size), recorded before a build that pushed it is
-- marked ready, so that every control-plane replica can name the layer
-- to nodes. The first record of a layer stays.
CREATE TABLE layer_blobs (
    layer  TEXT    NOT NULL PRIMARY KEY,
    digest TEXT    NOT NULL,
    size   BIGINT  NOT NULL
);
