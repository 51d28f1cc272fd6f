package pool

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// gatedMaker makes a sandbox only when the test lets it, and records the
// prewarm each Make was asked for.
type gatedMaker struct {
	gate chan struct{}

	mu       sync.Mutex
	n        int
	prewarms [][]string
	live     map[string]bool
}

func newGatedMaker() *gatedMaker {
	return &gatedMaker{gate: make(chan struct{}), live: map[string]bool{}}
}

func (g *gatedMaker) Make(ctx context.Context, template string, prewarm []string) (string, error) {
	g.mu.Lock()
	g.prewarms = append(g.prewarms, slices.Clone(prewarm))
	g.mu.Unlock()
	select {
	case <-g.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	id := fmt.Sprintf("%s-%d", template, g.n)
	g.live[id] = true
	return id, nil
}

func (g *gatedMaker) Destroy(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.live, id)
	return nil
}

func (g *gatedMaker) MemoryMiB(context.Context, string) float64 { return 0 }

func (g *gatedMaker) asked() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.prewarms)
}

// A create that finds the pool empty is answered at once, while every
// refill slot is taken by a refill that does not finish; and refills
// started after such a miss skip the prewarm, those before it do not.
func TestMissNeverWaitsForRefillsAndSkipsPrewarm(t *testing.T) {
	m := newGatedMaker()
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 1, Max: 4, Prewarm: []string{"python"}, Concurrency: 1}, m)
	defer stop()
	eventually(t, "the first refill to start", func() bool { return len(m.asked()) == 1 })
	if got := m.asked()[0]; !slices.Equal(got, []string{"python"}) {
		t.Fatalf("refill of a pool with no miss prewarmed %v, want [python]", got)
	}

	// The only refill slot is held by a refill that cannot finish: a
	// claim that waited for it would never return.
	claimed := make(chan bool)
	go func() {
		_, ok := p.Claim("base")
		claimed <- ok
	}()
	select {
	case ok := <-claimed:
		if ok {
			t.Fatal("claimed a sandbox from a pool that has none ready")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a claim on an empty pool waited for a refill")
	}

	m.gate <- struct{}{} // the first refill ends
	eventually(t, "a ready sandbox", func() bool { return stats(p, "base").Ready == 1 })
	if _, ok := p.Claim("base"); !ok {
		t.Fatal("no sandbox claimed from a pool with one ready")
	}
	eventually(t, "a refill after the miss", func() bool { return len(m.asked()) >= 2 })
	if got := m.asked()[1]; len(got) != 0 {
		t.Errorf("refill after a miss prewarmed %v, want none", got)
	}
	if s := stats(p, "base"); s.BareRefills != 1 || s.Misses != 1 {
		t.Errorf("stats after a miss: %d bare refills, %d misses; want 1 and 1", s.BareRefills, s.Misses)
	}
	close(m.gate)
}

// Once no claim has missed for the demand window, refills prewarm again.
func TestPrewarmResumesAfterTheWindow(t *testing.T) {
	m := newGatedMaker()
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 1, Max: 1, Prewarm: []string{"python"}, Concurrency: 1, Window: 300 * time.Millisecond}, m)
	defer func() {
		close(m.gate)
		stop()
	}()
	// refill lets the n-th refill finish once it is asked for and returns
	// the prewarm it was asked for.
	refill := func(n int) []string {
		t.Helper()
		eventually(t, fmt.Sprintf("refill %d", n), func() bool { return len(m.asked()) == n })
		m.gate <- struct{}{}
		eventually(t, "a ready sandbox", func() bool { return stats(p, "base").Ready == 1 })
		return m.asked()[n-1]
	}
	claim := func(want bool) {
		t.Helper()
		if _, ok := p.Claim("base"); ok != want {
			t.Fatalf("claim: got a sandbox %v, want %v", ok, want)
		}
	}
	if got := refill(1); !slices.Equal(got, []string{"python"}) {
		t.Fatalf("first refill prewarmed %v, want [python]", got)
	}
	claim(true)
	eventually(t, "refill 2", func() bool { return len(m.asked()) == 2 })
	claim(false) // refill 2 is not done: a miss
	if got := refill(2); !slices.Equal(got, []string{"python"}) {
		t.Fatalf("refill asked before the miss prewarmed %v, want [python]", got)
	}
	claim(true)
	if got := refill(3); len(got) != 0 {
		t.Fatalf("refill after a miss prewarmed %v, want none", got)
	}
	time.Sleep(400 * time.Millisecond) // past the window
	claim(true)
	if got := refill(4); !slices.Equal(got, []string{"python"}) {
		t.Errorf("refill long after the last miss prewarmed %v, want [python]", got)
	}
}
