-- The resource history of sandboxes: raw samples (resolution 0) every few
-- seconds, replaced by buckets (resolution: the bucket's width in
-- seconds) as they age, deleted after the retention. Times are BIGINT
-- microseconds since the Unix epoch, UTC, as in the SQLite schema.
CREATE TABLE sandbox_metrics (
    sandbox_id   TEXT             NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
    time         BIGINT           NOT NULL,
    resolution   INTEGER          NOT NULL DEFAULT 0,
    cpu_count    INTEGER          NOT NULL,
    cpu_used_pct DOUBLE PRECISION NOT NULL,
    mem_used     BIGINT           NOT NULL,
    mem_total    BIGINT           NOT NULL,
    mem_cache    BIGINT           NOT NULL,
    disk_used    BIGINT           NOT NULL,
    disk_total   BIGINT           NOT NULL,
    net_rx_bytes BIGINT           NOT NULL DEFAULT 0,
    net_tx_bytes BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (sandbox_id, resolution, time)
);

-- Pruning and downsampling walk the history by age.
CREATE INDEX sandbox_metrics_time ON sandbox_metrics (resolution, time);

-- Team metrics look for the sandboxes live in a range.
CREATE INDEX sandboxes_client_created ON sandboxes (client_id, created_at);
