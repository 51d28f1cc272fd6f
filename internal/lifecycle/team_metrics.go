package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
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
	return teamPoints(spans, start, end, step), nil
}

// teamPoints counts spans at each step from start to end: the live ones
// (created at or before t, not ended by t) and the ones created in the
// step ending at t. The creates and ends are sorted once and each point
// is two binary searches, so a range costs O((spans + points) log spans)
// rather than spans x points.
func teamPoints(spans []store.SandboxSpan, start, end time.Time, step time.Duration) []TeamMetric {
	created := make([]time.Time, 0, len(spans))
	var ended []time.Time
	for _, s := range spans {
		created = append(created, s.CreatedAt)
		if !s.EndedAt.IsZero() {
			// An end recorded before its create counts as at the create:
			// such a sandbox is never live.
			ended = append(ended, later(s.EndedAt, s.CreatedAt))
		}
	}
	byTime := func(ts []time.Time) {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	}
	byTime(created)
	byTime(ended)
	// upTo is how many of sorted ts are at or before t.
	upTo := func(ts []time.Time, t time.Time) int {
		return sort.Search(len(ts), func(i int) bool { return ts[i].After(t) })
	}
	var out []TeamMetric
	for t := start; !t.After(end); t = t.Add(step) {
		createdBy := upTo(created, t)
		started := createdBy - upTo(created, t.Add(-step))
		out = append(out, TeamMetric{
			Timestamp:           t,
			ConcurrentSandboxes: createdBy - upTo(ended, t),
			SandboxStartRate:    float64(started) / step.Seconds(),
		})
	}
	return out
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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
