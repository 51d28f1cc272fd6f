package lifecycle

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// naiveTeamPoints is the definition teamPoints computes: every span
// checked at every point.
func naiveTeamPoints(spans []store.SandboxSpan, start, end time.Time, step time.Duration) []TeamMetric {
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
	return out
}

// TestTeamPointsSweep: the sorted sweep gives the same points as
// checking every span at every point, on random spans with starts and
// ends on step boundaries, at equal times, still live, and ended at their
// create.
func TestTeamPointsSweep(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	t0 := time.Unix(1_800_000_000, 0)
	for round := range 200 {
		start := t0.Add(time.Duration(rng.IntN(100)) * time.Second)
		end := start.Add(time.Duration(rng.IntN(3600)) * time.Second)
		step := TeamMetricStep(start, end)
		var spans []store.SandboxSpan
		for range rng.IntN(60) {
			c := t0.Add(time.Duration(rng.IntN(4000)) * time.Second)
			if rng.IntN(4) == 0 {
				c = start.Add(time.Duration(rng.IntN(20)) * step) // on a point
			}
			s := store.SandboxSpan{CreatedAt: c}
			switch rng.IntN(4) {
			case 0: // live
			case 1:
				s.EndedAt = c // ended at its create
			default:
				s.EndedAt = c.Add(time.Duration(rng.IntN(1200)) * time.Second)
			}
			spans = append(spans, s)
		}
		got, want := teamPoints(spans, start, end, step), naiveTeamPoints(spans, start, end, step)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d points, want %d", round, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("round %d point %d: %+v, want %+v", round, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkTeamPoints: a day's range over 10,000 sandboxes.
func BenchmarkTeamPoints(b *testing.B) {
	t0 := time.Unix(1_800_000_000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	spans := make([]store.SandboxSpan, 10000)
	for i := range spans {
		c := t0.Add(time.Duration(rng.IntN(86400)) * time.Second)
		spans[i] = store.SandboxSpan{CreatedAt: c, EndedAt: c.Add(time.Duration(rng.IntN(3600)) * time.Second)}
	}
	end := t0.Add(24 * time.Hour)
	step := TeamMetricStep(t0, end)
	for b.Loop() {
		teamPoints(spans, t0, end, step)
	}
}
