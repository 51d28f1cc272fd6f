package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// LatestMetric implements store.MetricHistory: one row, read backwards
// from the sandbox's newest.
func (s *Store) LatestMetric(ctx context.Context, sandboxID string) (store.MetricSample, bool, error) {
	m := store.MetricSample{SandboxID: sandboxID}
	if err := store.ValidateID(sandboxID); err != nil {
		return m, false, err
	}
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM sandboxes WHERE id = ?`, sandboxID).Scan(&one)
	if err == sql.ErrNoRows {
		return m, false, notFound(sandboxID)
	}
	if err != nil {
		return m, false, fmt.Errorf("sandbox %q: latest metric: %w", sandboxID, err)
	}
	var (
		at, res                                                  int64
		memUsed, memTotal, memCache, diskUsed, diskTotal, rx, tx int64
	)
	err = s.queryRow(ctx, `SELECT time, resolution, cpu_count, cpu_used_pct, mem_used, mem_total, mem_cache,
		disk_used, disk_total, net_rx_bytes, net_tx_bytes
		FROM sandbox_metrics WHERE sandbox_id = ?
		ORDER BY time DESC, resolution ASC LIMIT 1`, sandboxID).
		Scan(&at, &res, &m.CPUCount, &m.CPUUsedPct, &memUsed, &memTotal, &memCache, &diskUsed, &diskTotal, &rx, &tx)
	if err == sql.ErrNoRows {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("sandbox %q: latest metric: %w", sandboxID, err)
	}
	m.Time, m.Resolution = sqlrow.FromTime(at), time.Duration(res)*time.Second
	m.MemUsed, m.MemTotal, m.MemCache = uint64(memUsed), uint64(memTotal), uint64(memCache)
	m.DiskUsed, m.DiskTotal, m.NetRxBytes, m.NetTxBytes = uint64(diskUsed), uint64(diskTotal), uint64(rx), uint64(tx)
	return m, true, nil
}
