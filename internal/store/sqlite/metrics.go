package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// AddMetrics implements store.MetricHistory.
func (s *Store) AddMetrics(ctx context.Context, samples []store.MetricSample) error {
	for _, m := range samples {
		if err := store.ValidateMetricSample(m); err != nil {
			return err
		}
	}
	if len(samples) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		known := map[string]bool{}
		for _, m := range samples {
			if known[m.SandboxID] {
				continue
			}
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM sandboxes WHERE id = ?`, m.SandboxID).Scan(&one)
			if err == sql.ErrNoRows {
				return notFound(m.SandboxID)
			}
			if err != nil {
				return fmt.Errorf("sandbox %q: add metrics: %w", m.SandboxID, err)
			}
			known[m.SandboxID] = true
		}
		for _, m := range samples {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sandbox_metrics
				(sandbox_id, time, resolution, cpu_count, cpu_used_pct, mem_used, mem_total, mem_cache, disk_used, disk_total, net_rx_bytes, net_tx_bytes)
				VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (sandbox_id, resolution, time) DO NOTHING`,
				m.SandboxID, sqlrow.Time(m.Time), m.CPUCount, m.CPUUsedPct, int64(m.MemUsed), int64(m.MemTotal), int64(m.MemCache),
				int64(m.DiskUsed), int64(m.DiskTotal), int64(m.NetRxBytes), int64(m.NetTxBytes)); err != nil {
				return fmt.Errorf("sandbox %q: add metrics: %w", m.SandboxID, err)
			}
		}
		return nil
	})
}

// ListMetrics implements store.MetricHistory.
func (s *Store) ListMetrics(ctx context.Context, sandboxID string, start, end time.Time) ([]store.MetricSample, error) {
	if err := store.ValidateID(sandboxID); err != nil {
		return nil, err
	}
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM sandboxes WHERE id = ?`, sandboxID).Scan(&one)
	if err == sql.ErrNoRows {
		return nil, notFound(sandboxID)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: list metrics: %w", sandboxID, err)
	}
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !start.IsZero() {
		lo = sqlrow.Time(start)
	}
	if !end.IsZero() {
		hi = sqlrow.Time(end)
	}
	rows, err := s.query(ctx, `SELECT time, resolution, cpu_count, cpu_used_pct, mem_used, mem_total, mem_cache,
		disk_used, disk_total, net_rx_bytes, net_tx_bytes
		FROM sandbox_metrics WHERE sandbox_id = ? AND (time >= ? OR time + resolution * 1000000 > ?) AND time <= ?
		ORDER BY time, resolution DESC`, sandboxID, lo, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: list metrics: %w", sandboxID, err)
	}
	defer rows.Close()
	var out []store.MetricSample
	for rows.Next() {
		var (
			at, res                                                  int64
			memUsed, memTotal, memCache, diskUsed, diskTotal, rx, tx int64
			m                                                        = store.MetricSample{SandboxID: sandboxID}
		)
		if err := rows.Scan(&at, &res, &m.CPUCount, &m.CPUUsedPct, &memUsed, &memTotal, &memCache, &diskUsed, &diskTotal, &rx, &tx); err != nil {
			return nil, fmt.Errorf("sandbox %q: list metrics: %w", sandboxID, err)
		}
		m.Time, m.Resolution = sqlrow.FromTime(at), time.Duration(res)*time.Second
		m.MemUsed, m.MemTotal, m.MemCache = uint64(memUsed), uint64(memTotal), uint64(memCache)
		m.DiskUsed, m.DiskTotal, m.NetRxBytes, m.NetTxBytes = uint64(diskUsed), uint64(diskTotal), uint64(rx), uint64(tx)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: list metrics: %w", sandboxID, err)
	}
	return out, nil
}

// DownsampleMetrics implements store.MetricHistory. Buckets are made and
// their raw samples deleted in one transaction.
func (s *Store) DownsampleMetrics(ctx context.Context, before time.Time, bucket time.Duration) (int64, error) {
	if err := store.ValidateBucket(bucket); err != nil {
		return 0, err
	}
	width := bucket.Microseconds()
	cut := sqlrow.Time(before) / width * width
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The mean cache is integer division in both backends (an AVG
		// cast would truncate here and round in PostgreSQL); the network
		// counters are the bucket's last sample's, not its largest (a
		// counter that went back, a re-created link, is reported as is).
		// "WHERE true" keeps SQLite from reading ON CONFLICT as the
		// join's ON.
		if _, err := tx.ExecContext(ctx, `INSERT INTO sandbox_metrics
			(sandbox_id, time, resolution, cpu_count, cpu_used_pct, mem_used, mem_total, mem_cache, disk_used, disk_total, net_rx_bytes, net_tx_bytes)
			SELECT g.sandbox_id, g.bucket * ?, ?, g.cpu_count, g.cpu_used_pct, g.mem_used, g.mem_total,
				g.mem_cache, g.disk_used, g.disk_total, l.net_rx_bytes, l.net_tx_bytes
			FROM (SELECT sandbox_id, time / ? AS bucket, MAX(time) AS last, MAX(cpu_count) AS cpu_count,
					AVG(cpu_used_pct) AS cpu_used_pct, MAX(mem_used) AS mem_used, MAX(mem_total) AS mem_total,
					CAST(SUM(mem_cache) AS BIGINT) / COUNT(*) AS mem_cache, MAX(disk_used) AS disk_used, MAX(disk_total) AS disk_total
				FROM sandbox_metrics WHERE resolution = 0 AND time < ?
				GROUP BY sandbox_id, time / ?) AS g
			JOIN sandbox_metrics AS l ON l.sandbox_id = g.sandbox_id AND l.resolution = 0 AND l.time = g.last
			WHERE true
			ON CONFLICT (sandbox_id, resolution, time) DO NOTHING`,
			width, int64(bucket/time.Second), width, cut, width); err != nil {
			return fmt.Errorf("downsample metrics: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sandbox_metrics WHERE resolution = 0 AND time < ?`, cut)
		if err != nil {
			return fmt.Errorf("downsample metrics: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sandboxSpansQuery reads a team's sandboxes live between two times
// (args: team, end, team, start, end). The live ones are found by
// sandboxes_client_ended, as the ended ones are: left to itself the
// planner reads them by creation (sandboxes_client_created), the team's
// whole history.
const sandboxSpansQuery = `SELECT created_at, ended_at FROM (
	SELECT id, created_at, ended_at FROM sandboxes INDEXED BY sandboxes_client_ended
		WHERE client_id = ? AND ended_at IS NULL AND created_at <= ?
	UNION ALL
	SELECT id, created_at, ended_at FROM sandboxes
		WHERE client_id = ? AND ended_at >= ? AND created_at <= ?
	) ORDER BY created_at, id`

// pruneMetricsQuery deletes the history before a time, every resolution.
const pruneMetricsQuery = `DELETE FROM sandbox_metrics WHERE time < ?`

// PruneMetrics implements store.MetricHistory.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, pruneMetricsQuery, sqlrow.Time(before))
		if err != nil {
			return fmt.Errorf("prune metrics: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SandboxSpans implements store.MetricHistory.
func (s *Store) SandboxSpans(ctx context.Context, team string, start, end time.Time) ([]store.SandboxSpan, error) {
	// Two index ranges of (client_id, ended_at), the live and the ended
	// after start, rather than every sandbox the team ever had.
	rows, err := s.query(ctx, sandboxSpansQuery, team, sqlrow.Time(end), team, sqlrow.Time(start), sqlrow.Time(end))
	if err != nil {
		return nil, fmt.Errorf("team %q: sandbox spans: %w", team, err)
	}
	defer rows.Close()
	var out []store.SandboxSpan
	for rows.Next() {
		var (
			created int64
			ended   sql.NullInt64
		)
		if err := rows.Scan(&created, &ended); err != nil {
			return nil, fmt.Errorf("team %q: sandbox spans: %w", team, err)
		}
		out = append(out, store.SandboxSpan{CreatedAt: sqlrow.FromTime(created), EndedAt: sqlrow.FromNullTime(ended)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("team %q: sandbox spans: %w", team, err)
	}
	return out, nil
}
