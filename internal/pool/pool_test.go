package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMaker stands in for the runtime: these tests are about the pool's
// bookkeeping. Real sandboxes go through it in the lifecycle and server
// tests.
type fakeMaker struct {
	delay time.Duration
	mem   float64
	fail  atomic.Bool

	mu        sync.Mutex
	n         int
	live      map[string]bool
	destroyed []string
	prewarmed []bool // per Make, whether it was asked to prewarm
}

func newFakeMaker(delay time.Duration) *fakeMaker {
	return &fakeMaker{delay: delay, live: map[string]bool{}}
}

func (f *fakeMaker) Make(ctx context.Context, template string, prewarm []string) (string, error) {
	f.mu.Lock()
	f.prewarmed = append(f.prewarmed, len(prewarm) > 0)
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if f.fail.Load() {
		return "", errors.New("cannot make")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := fmt.Sprintf("%s-%d", template, f.n)
	f.live[id] = true
	return id, nil
}

func (f *fakeMaker) Destroy(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.live[id] {
		return fmt.Errorf("%s: destroyed twice or never made", id)
	}
	delete(f.live, id)
	f.destroyed = append(f.destroyed, id)
	return nil
}

func (f *fakeMaker) MemoryMiB(context.Context, string) float64 { return f.mem }

func (f *fakeMaker) liveCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live)
}

func run(t *testing.T, cfg Config, m Maker) (*Pool, func()) {
	t.Helper()
	p := New(cfg, m, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return p, func() {
		cancel()
		<-done
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stats(p *Pool, template string) Stats {
	for _, s := range p.Stats() {
		if s.Template == template {
			return s
		}
	}
	return Stats{}
}

func TestFillsToMinAndDrainsOnStop(t *testing.T) {
	m := newFakeMaker(time.Millisecond)
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 3, Max: 5, Concurrency: 2}, m)
	eventually(t, "3 ready", func() bool { return stats(p, "base").Ready == 3 })
	if _, ok := p.Claim("other"); ok {
		t.Error("claimed a template that has no pool")
	}
	stop()
	if n := m.liveCount(); n != 0 {
		t.Errorf("%d pooled sandboxes left after Run returned", n)
	}
}

// Concurrent claims never get the same sandbox, and every sandbox made
// is either claimed once or destroyed once.
func TestConcurrentClaimsNeverShareASandbox(t *testing.T) {
	m := newFakeMaker(200 * time.Microsecond)
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 4, Max: 8, Concurrency: 4}, m)
	eventually(t, "4 ready", func() bool { return stats(p, "base").Ready == 4 })

	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if id, ok := p.Claim("base"); ok {
					mu.Lock()
					claimed[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	stop()
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("%s handed out %d times", id, n)
		}
	}
	st := stats(p, "base")
	if int(st.Hits) != len(claimed) || st.Hits+st.Misses != 32*50 {
		t.Errorf("hits %d misses %d, claimed %d of %d", st.Hits, st.Misses, len(claimed), 32*50)
	}
	// What was not claimed was destroyed when the pool stopped.
	if live := m.liveCount(); live != len(claimed) {
		t.Errorf("%d sandboxes live, %d claimed", live, len(claimed))
	}
}

// The target follows demand up to Max and the memory budget, and an idle
// pool shrinks back to Min.
func TestTargetFollowsDemand(t *testing.T) {
	m := newFakeMaker(20 * time.Millisecond)
	m.mem = 100
	cfg := Config{Templates: []string{"base"}, Min: 1, Max: 6, Concurrency: 2, Window: time.Second, IdleAfter: 100 * time.Millisecond}
	p, stop := run(t, cfg, m)
	defer stop()
	eventually(t, "1 ready", func() bool { return stats(p, "base").Ready == 1 })

	// Demand far above what one refill covers: the refill takes 20 ms,
	// so 400 creates a second wants 12, capped at 6.
	for i := 0; i < 20; i++ {
		for j := 0; j < 100; j++ {
			p.Claim("base")
		}
		time.Sleep(tick)
	}
	if got := stats(p, "base").Target; got != 6 {
		t.Errorf("target under heavy demand %d, want the max 6", got)
	}
	// No demand: back to Min, then idle sandboxes are given back.
	eventually(t, "target back to 1", func() bool { return stats(p, "base").Target == 1 })
	eventually(t, "pool shrunk to 1", func() bool { return stats(p, "base").Ready == 1 })
}

func TestMemoryBudgetCapsTarget(t *testing.T) {
	m := newFakeMaker(20 * time.Millisecond)
	m.mem = 100
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 1, Max: 50, MemoryBudgetMiB: 250, Concurrency: 2, Window: time.Second}, m)
	defer stop()
	eventually(t, "1 ready", func() bool { return stats(p, "base").Ready == 1 })
	for i := 0; i < 12; i++ {
		for j := 0; j < 200; j++ {
			p.Claim("base")
		}
		time.Sleep(tick)
	}
	if got := stats(p, "base").Target; got != 2 {
		t.Errorf("target %d under a 250 MiB budget of 100 MiB sandboxes, want 2", got)
	}
}

func TestDiscardDestroysAndCounts(t *testing.T) {
	m := newFakeMaker(time.Millisecond)
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 1, Max: 1}, m)
	defer stop()
	eventually(t, "1 ready", func() bool { return stats(p, "base").Ready == 1 })
	id, ok := p.Claim("base")
	if !ok {
		t.Fatal("nothing to claim")
	}
	p.Discard(context.Background(), "base", id, errors.New("agent is dead"))
	if st := stats(p, "base"); st.Discarded != 1 {
		t.Errorf("discarded %d", st.Discarded)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.destroyed) != 1 || m.destroyed[0] != id {
		t.Errorf("destroyed %v, want [%s]", m.destroyed, id)
	}
}

func TestFailingMakerIsCountedNotSpun(t *testing.T) {
	m := newFakeMaker(time.Millisecond)
	m.fail.Store(true)
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 2, Max: 2}, m)
	time.Sleep(1500 * time.Millisecond)
	stop()
	// One slot, a second's pause after each failure: a handful, not
	// thousands.
	if f := stats(p, "base").Failures; f == 0 || f > 4 {
		t.Errorf("%d failed fills in 1.5 s", f)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Min: -1}, {Min: 3, Max: 2}, {MemoryBudgetMiB: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Min: 1, Max: 2}).Validate(); err != nil {
		t.Error(err)
	}
}

// Refills prewarm until a claim finds the pool empty; while it runs dry
// they skip the prewarm, and say so in the stats.
func TestDryPoolRefillsWithoutPrewarm(t *testing.T) {
	m := newFakeMaker(20 * time.Millisecond)
	p, stop := run(t, Config{Templates: []string{"base"}, Min: 2, Max: 2, Prewarm: []string{"python"}, Concurrency: 1}, m)
	defer stop()
	eventually(t, "2 ready", func() bool { return stats(p, "base").Ready == 2 })
	m.mu.Lock()
	before := append([]bool(nil), m.prewarmed...)
	m.mu.Unlock()
	for i, pre := range before {
		if !pre {
			t.Errorf("refill %d before any miss was not prewarmed", i)
		}
	}
	// Drain it and miss once.
	for i := 0; i < 3; i++ {
		p.Claim("base")
	}
	eventually(t, "refilled", func() bool { return stats(p, "base").Ready == 2 })
	m.mu.Lock()
	after := m.prewarmed[len(before):]
	m.mu.Unlock()
	if len(after) == 0 {
		t.Fatal("no refill after the miss")
	}
	for i, pre := range after {
		if pre {
			t.Errorf("refill %d after a miss was prewarmed", i)
		}
	}
	if s := stats(p, "base"); s.Bare != uint64(len(after)) || s.Misses != 1 {
		t.Errorf("stats %+v, want %d bare refills and 1 miss", s, len(after))
	}
}
