package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkMetricHistoryGrowth measures what the metric history costs the
// store: the bytes one sandbox-hour of 5 s samples adds to the database
// (pages in use, after a checkpoint), raw and once downsampled into
// minutes, and the time of one monitor pass's write of 20 sandboxes.
func BenchmarkMetricHistoryGrowth(b *testing.B) {
	const sandboxes, perHour = 20, 720
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "growth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range sandboxes {
		sb := store.Sandbox{ID: fmt.Sprintf("growth-%02d", i), TemplateID: "base", ClientID: "t", State: store.StateRunning,
			CPUCount: 2, MemoryMB: 512, CreatedAt: t0}
		if err := s.CreateSandbox(ctx, sb); err != nil {
			b.Fatal(err)
		}
	}
	used := func() int64 {
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		var pages, free, size int64
		_ = s.r.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages)
		_ = s.r.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free)
		_ = s.r.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size)
		return (pages - free) * size
	}
	before := used()
	pass := func(n int) []store.MetricSample {
		batch := make([]store.MetricSample, 0, sandboxes)
		for i := range sandboxes {
			batch = append(batch, store.MetricSample{SandboxID: fmt.Sprintf("growth-%02d", i), Time: t0.Add(time.Duration(n) * 5 * time.Second),
				CPUCount: 2, CPUUsedPct: float64(n%100) + 0.37, MemUsed: 123456789 + uint64(n)*4096, MemTotal: 512 << 20, MemCache: 1 << 20,
				DiskUsed: 987654321, DiskTotal: 2 << 30, NetRxBytes: uint64(n) * 1500, NetTxBytes: uint64(n) * 900})
		}
		return batch
	}
	b.ResetTimer()
	for n := range b.N {
		if err := s.AddMetrics(ctx, pass(n)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// An hour of history for every sandbox (the passes above count in).
	for n := b.N; n < perHour; n++ {
		if err := s.AddMetrics(ctx, pass(n)); err != nil {
			b.Fatal(err)
		}
	}
	hours := float64(max(b.N, perHour)) / perHour
	raw := used()
	b.ReportMetric(float64(raw-before)/sandboxes/hours, "raw-B/sandbox-hour")
	if _, err := s.DownsampleMetrics(ctx, t0.Add(24*time.Hour), time.Minute); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM`); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used()-before)/sandboxes/hours, "minutes-B/sandbox-hour")
}
