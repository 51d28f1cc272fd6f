package pool

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedMaker makes a sandbox only when the test lets it.
type gatedMaker struct {
	gate chan struct{}

	mu    sync.Mutex
	asked int
	n     int
}

func newGatedMaker() *gatedMaker {
	return &gatedMaker{gate: make(chan struct{})}
}

func (g *gatedMaker) Make(ctx context.Context, template string, _ []string) (string, error) {
	g.mu.Lock()
	g.asked++
	g.mu.Unlock()
	select {
	case <-g.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return fmt.Sprintf("%s-%d", template, g.n), nil
}

func (g *gatedMaker) Destroy(context.Context, string) error     { return nil }
func (g *gatedMaker) MemoryMiB(context.Context, string) float64 { return 0 }
func (g *gatedMaker) refillsAsked() int                         { g.mu.Lock(); defer g.mu.Unlock(); return g.asked }

// A create that finds the pool empty is answered at once while every
// refill slot is taken by a refill that does not finish: it goes cold
// rather than wait behind refills.
func TestMissNeverWaitsForRefills(t *testing.T) {
	m := newGatedMaker()
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 1, Max: 4, Prewarm: []string{"python"}, Concurrency: 1}, m)
	defer func() {
		close(m.gate)
		stop()
	}()
	eventually(t, "a refill to start", func() bool { return m.refillsAsked() == 1 })

	// A claim that waited for the refill would never return.
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
	if s := stats(p, "base"); s.Misses != 1 || s.Filling != 1 {
		t.Errorf("after the miss: %d misses, %d filling; want 1 and 1", s.Misses, s.Filling)
	}
}
