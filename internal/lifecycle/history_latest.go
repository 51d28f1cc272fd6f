package lifecycle

import (
	"context"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// LatestMetric returns the latest sample of sb from the store, one row
// whatever the length of its history; or, for a running sandbox that
// has none yet, its current usage. false: there is none.
func (m *Manager) LatestMetric(ctx context.Context, sb store.Sandbox) (Metric, bool, error) {
	s, ok, err := m.store.LatestMetric(ctx, sb.ID)
	if err != nil {
		return Metric{}, false, err
	}
	if ok {
		return fromSample(s), true, nil
	}
	if sb.State == store.StateRunning {
		st, err := m.currentStats(ctx, sb.ID)
		if err == nil {
			return toMetric(sb, runtime.Stats{}, st), true, nil
		}
		if !errdefs.IsNotFound(err) {
			m.log.Warn("metrics: current stats", logx.Sandbox(sb.ID), logx.Err(err))
		}
	}
	return Metric{}, false, nil
}
