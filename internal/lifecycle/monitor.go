package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Metric is one sample of a sandbox's resource use, in E2B's terms.
type Metric struct {
	Timestamp  time.Time
	CPUCount   int
	CPUUsedPct float64
	MemUsed    uint64
	MemTotal   uint64
	MemCache   uint64
	DiskUsed   uint64
	DiskTotal  uint64
}

// series is a sandbox's samples: kept while it lives and for the
// retention window after, at most a day of them.
type series struct {
	samples []Metric
	last    runtime.Stats
	ended   time.Time
}

const maxSamples = 24 * 60 * 60 / 5

// monitor samples every running sandbox, and ends those whose agent died
// on its own: with reason oom when the memory limit killed it, else error.
func (m *Manager) monitor(ctx context.Context) {
	tick := time.NewTicker(m.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		live, err := m.store.ListSandboxes(ctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		if err != nil {
			continue
		}
		for _, sb := range live {
			m.sample(ctx, sb)
		}
		m.expireSeries()
	}
}

func (m *Manager) sample(ctx context.Context, sb store.Sandbox) {
	info, err := m.driver.Info(ctx, sb.ID)
	if err == nil && info.Status == runtime.StatusStopped {
		st, _ := m.driver.Stats(ctx, sb.ID)
		reason, msg := store.ReasonError, "the sandbox's main process exited"
		if st.OOMKills > 0 {
			reason, msg = store.ReasonOOM, fmt.Sprintf("killed by the memory limit (%d MiB)", sb.MemoryMB)
		}
		if err := m.Kill(ctx, sb.ID, reason, msg); err != nil && !errdefs.IsNotFound(err) {
			m.log.Error("end dead sandbox", logx.Sandbox(sb.ID), logx.Err(err))
		}
		return
	}
	if err != nil || sb.State != store.StateRunning {
		return
	}
	st, err := m.driver.Stats(ctx, sb.ID)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.metrics[sb.ID]
	if s == nil {
		s = &series{}
		m.metrics[sb.ID] = s
	}
	s.samples = append(s.samples, toMetric(sb, s.last, st))
	if len(s.samples) > maxSamples {
		s.samples = s.samples[len(s.samples)-maxSamples:]
	}
	s.last = st
}

// toMetric turns cumulative CPU time into the share of the sandbox's CPUs
// used since the previous sample.
func toMetric(sb store.Sandbox, prev, cur runtime.Stats) Metric {
	m := Metric{
		Timestamp: cur.Timestamp, CPUCount: sb.CPUCount,
		MemUsed: cur.MemoryUsage - min(cur.MemoryCache, cur.MemoryUsage), MemTotal: cur.MemoryLimit, MemCache: cur.MemoryCache,
		DiskUsed: cur.DiskUsed, DiskTotal: cur.DiskTotal,
	}
	if !prev.Timestamp.IsZero() && cur.CPUUsageNanos >= prev.CPUUsageNanos && sb.CPUCount > 0 {
		wall := cur.Timestamp.Sub(prev.Timestamp).Nanoseconds()
		if wall > 0 {
			m.CPUUsedPct = 100 * float64(cur.CPUUsageNanos-prev.CPUUsageNanos) / float64(wall) / float64(sb.CPUCount)
		}
	}
	return m
}

// Metrics returns the samples of a sandbox between start and end (zero
// times: unbounded), or its current usage when it has none yet and the
// range takes in the present. A range that ends before the sandbox
// existed has no samples.
func (m *Manager) Metrics(ctx context.Context, id string, start, end time.Time) ([]Metric, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if !end.IsZero() && end.Before(sb.CreatedAt.Truncate(time.Second)) {
		return nil, nil
	}
	m.mu.Lock()
	var out []Metric
	if s := m.metrics[id]; s != nil {
		for _, x := range s.samples {
			if (start.IsZero() || !x.Timestamp.Before(start)) && (end.IsZero() || !x.Timestamp.After(end)) {
				out = append(out, x)
			}
		}
	}
	m.mu.Unlock()
	present := (start.IsZero() || !start.After(now)) && (end.IsZero() || !end.Before(now.Truncate(time.Second)))
	if out == nil && sb.State == store.StateRunning && present {
		if st, err := m.driver.Stats(ctx, id); err == nil {
			out = []Metric{toMetric(sb, runtime.Stats{}, st)}
		}
	}
	return out, nil
}

func (m *Manager) endSeries(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.metrics[id]; s != nil {
		s.ended = time.Now()
	}
}

func (m *Manager) expireSeries() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.metrics {
		if !s.ended.IsZero() && time.Since(s.ended) > m.keep {
			delete(m.metrics, id)
		}
	}
}
