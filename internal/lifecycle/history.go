package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// historyConfig is how the metric history ages.
type historyConfig struct {
	downsampleAfter time.Duration
	bucket          time.Duration
	tidyEvery       time.Duration
}

func newHistoryConfig(cfg Config) historyConfig {
	h := historyConfig{downsampleAfter: cfg.DownsampleAfter, bucket: cfg.DownsampleBucket, tidyEvery: cfg.TidyEvery}
	if h.downsampleAfter == 0 {
		h.downsampleAfter = time.Hour
	}
	if h.bucket == 0 {
		h.bucket = time.Minute
	}
	if h.tidyEvery == 0 {
		h.tidyEvery = time.Minute
	}
	return h
}

// historyDeadline bounds one write or tidy of the history.
const historyDeadline = 30 * time.Second

func toSample(id string, x Metric) store.MetricSample {
	return store.MetricSample{
		SandboxID: id, Time: x.Timestamp, CPUCount: x.CPUCount, CPUUsedPct: x.CPUUsedPct,
		MemUsed: x.MemUsed, MemTotal: x.MemTotal, MemCache: x.MemCache, DiskUsed: x.DiskUsed, DiskTotal: x.DiskTotal,
		NetRxBytes: x.NetRxBytes, NetTxBytes: x.NetTxBytes,
	}
}

func fromSample(s store.MetricSample) Metric {
	return Metric{
		Timestamp: s.Time, CPUCount: s.CPUCount, CPUUsedPct: s.CPUUsedPct,
		MemUsed: s.MemUsed, MemTotal: s.MemTotal, MemCache: s.MemCache, DiskUsed: s.DiskUsed, DiskTotal: s.DiskTotal,
		NetRxBytes: s.NetRxBytes, NetTxBytes: s.NetTxBytes, Resolution: s.Resolution,
	}
}

// flushSamples writes the pass's samples to the store in one
// transaction. A failed write loses that pass's samples only: the next
// pass samples again.
func (m *Manager) flushSamples(ctx context.Context) {
	m.mu.Lock()
	batch := m.pending
	m.pending = nil
	m.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyDeadline)
	defer cancel()
	if err := m.store.AddMetrics(wctx, batch); err != nil {
		m.log.Error("monitor: store metric samples", slog.Int("samples", len(batch)), logx.Err(err))
	}
}

// tidyHistory downsamples the samples older than DownsampleAfter and
// deletes those older than Retention, at most once every TidyEvery.
func (m *Manager) tidyHistory(ctx context.Context, now time.Time) {
	m.mu.Lock()
	due := now.Sub(m.lastTidy) >= m.history.tidyEvery
	if due {
		m.lastTidy = now
	}
	m.mu.Unlock()
	if !due || ctx.Err() != nil {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, historyDeadline)
	defer cancel()
	merged, err := m.store.DownsampleMetrics(tctx, now.Add(-m.history.downsampleAfter), m.history.bucket)
	if err != nil {
		m.log.Error("monitor: downsample metric history", logx.Err(err))
	}
	pruned, err := m.store.PruneMetrics(tctx, now.Add(-m.keep))
	if err != nil {
		m.log.Error("monitor: prune metric history", logx.Err(err))
	}
	if merged > 0 || pruned > 0 {
		m.log.Debug("monitor: metric history tidied", slog.Int64("downsampled", merged), slog.Int64("pruned", pruned))
	}
}

// Metrics returns the history of a sandbox between start and end (zero
// times: unbounded) from the store, so it outlives a server restart; or
// its current usage when it has no sample yet and the range takes in the
// present. A range that ends before the sandbox existed has no samples.
func (m *Manager) Metrics(ctx context.Context, id string, start, end time.Time) ([]Metric, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if !end.IsZero() && end.Before(sb.CreatedAt.Truncate(time.Second)) {
		return nil, nil
	}
	samples, err := m.store.ListMetrics(ctx, id, start, end)
	if err != nil {
		return nil, err
	}
	var out []Metric
	for _, s := range samples {
		out = append(out, fromSample(s))
	}
	present := (start.IsZero() || !start.After(now)) && (end.IsZero() || !end.Before(now.Truncate(time.Second)))
	if out == nil && sb.State == store.StateRunning && present {
		if st, err := m.currentStats(ctx, id); err == nil {
			out = []Metric{toMetric(sb, runtime.Stats{}, st)}
		} else if !errdefs.IsNotFound(err) {
			m.log.Warn("metrics: current stats", logx.Sandbox(id), logx.Err(err))
		}
	}
	return out, nil
}

// endSeries forgets what the monitor kept of an ended sandbox; its
// history stays in the store until the retention ends.
func (m *Manager) endSeries(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.metrics, id)
	delete(m.current, id)
}
