package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TeamMetric is one point of a team's usage, in E2B's terms: how many of
// its sandboxes were live at Timestamp, and how many it started per
// second in the step that ends there.
type TeamMetric struct {
	Timestamp           time.Time
	ConcurrentSandboxes int
	SandboxStartRate    float64
}

// teamMetricPoints is about how many points a range is cut into; a step
// is never shorter than a sample period.
const teamMetricPoints = 300

// TeamMetricStep is the step of a team metrics range: the range cut into
// about 300 points, rounded up to whole multiples of 5 s.
func TeamMetricStep(start, end time.Time) time.Duration {
	step := end.Sub(start) / teamMetricPoints
	const unit = 5 * time.Second
	if step < unit {
		return unit
	}
	return (step + unit - 1) / unit * unit
}

// TeamMetrics returns team's usage from start to end, one point per
// step, counted from the store's record of when each sandbox lived.
func (m *Manager) TeamMetrics(ctx context.Context, team string, start, end time.Time) ([]TeamMetric, error) {
	if end.Before(start) {
		return nil, fmt.Errorf("start %d is after end %d: %w", start.Unix(), end.Unix(), errdefs.ErrInvalidArgument)
	}
	step := TeamMetricStep(start, end)
	spans, err := m.store.SandboxSpans(ctx, team, start.Add(-step), end)
	if err != nil {
		return nil, err
	}
	var out []TeamMetric
	for t := start; !t.After(end); t = t.Add(step) {
		p := TeamMetric{Timestamp: t}
		started := 0
		for _, s := range spans {
			if !s.CreatedAt.After(t) && (s.EndedAt.IsZero() || s.EndedAt.After(t)) {
				p.ConcurrentSandboxes++
			}
			if s.CreatedAt.After(t.Add(-step)) && !s.CreatedAt.After(t) {
				started++
			}
		}
		p.SandboxStartRate = float64(started) / step.Seconds()
		out = append(out, p)
	}
	return out, nil
}

// Team metric names of GET /teams/{id}/metrics/max, as in E2B.
const (
	MetricConcurrentSandboxes = "concurrent_sandboxes"
	MetricSandboxStartRate    = "sandbox_start_rate"
)

// TeamMetricMax returns the highest value of metric between start and
// end and when it was first reached. The most concurrent sandboxes is
// exact (every start and end counted); the start rate is the highest of
// the steps TeamMetrics reports.
func (m *Manager) TeamMetricMax(ctx context.Context, team, metric string, start, end time.Time) (time.Time, float64, error) {
	switch metric {
	case MetricConcurrentSandboxes:
	case MetricSandboxStartRate:
		points, err := m.TeamMetrics(ctx, team, start, end)
		if err != nil {
			return time.Time{}, 0, err
		}
		at, best := start, 0.0
		for _, p := range points {
			if p.SandboxStartRate > best {
				at, best = p.Timestamp, p.SandboxStartRate
			}
		}
		return at, best, nil
	default:
		return time.Time{}, 0, fmt.Errorf("metric %q: use %s or %s: %w", metric, MetricConcurrentSandboxes, MetricSandboxStartRate, errdefs.ErrInvalidArgument)
	}
	if end.Before(start) {
		return time.Time{}, 0, fmt.Errorf("start %d is after end %d: %w", start.Unix(), end.Unix(), errdefs.ErrInvalidArgument)
	}
	spans, err := m.store.SandboxSpans(ctx, team, start, end)
	if err != nil {
		return time.Time{}, 0, err
	}
	// Sweep the starts and ends in time order; an end at the same
	// instant as a start goes first.
	type change struct {
		at time.Time
		d  int
	}
	var changes []change
	live := 0
	for _, s := range spans {
		if s.CreatedAt.After(start) {
			changes = append(changes, change{s.CreatedAt, +1})
		} else {
			live++
		}
		if !s.EndedAt.IsZero() && !s.EndedAt.After(end) {
			changes = append(changes, change{s.EndedAt, -1})
		}
	}
	sort.Slice(changes, func(i, j int) bool {
		if changes[i].at.Equal(changes[j].at) {
			return changes[i].d < changes[j].d
		}
		return changes[i].at.Before(changes[j].at)
	})
	at, best := start, live
	for _, c := range changes {
		live += c.d
		if live > best {
			at, best = c.at, live
		}
	}
	return at, float64(best), nil
}
