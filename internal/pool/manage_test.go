package pool

import (
	"context"
	"strings"
	"testing"
	"time"
)

func liveOf(m *fakeMaker, template string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id := range m.live {
		if strings.HasPrefix(id, template+"-") {
			n++
		}
	}
	return n
}

// A template pooled later fills to its own min; removing it destroys
// its sandboxes, including one being made, before Remove returns.
func TestSetThenRemoveLeavesNothing(t *testing.T) {
	m := newFakeMaker(50 * time.Millisecond)
	p, stop := run(t, Config{Concurrency: 2}, m)
	defer stop()
	p.Set("py", Bounds{Min: 3, Max: 4})
	eventually(t, "2 ready", func() bool { return stats(p, "py").Ready >= 2 })
	p.Remove(context.Background(), "py")
	if n := liveOf(m, "py"); n != 0 {
		t.Errorf("%d sandboxes of a removed pool left", n)
	}
	if _, ok := p.Claim("py"); ok {
		t.Error("claimed from a removed pool")
	}
	time.Sleep(100 * time.Millisecond) // a refill that outlived Remove would show now
	if n := liveOf(m, "py"); n != 0 || p.Pooled("py") {
		t.Errorf("%d sandboxes, pooled %v after Remove", n, p.Pooled("py"))
	}
}

// Replace destroys the sandboxes of the old build and fills anew.
func TestReplaceDropsOldSandboxes(t *testing.T) {
	m := newFakeMaker(time.Millisecond)
	p, stop := run(t, Config{Concurrency: 2}, m)
	defer stop()
	p.Set("py", Bounds{Min: 2, Max: 2})
	eventually(t, "2 ready", func() bool { return stats(p, "py").Ready == 2 })
	m.mu.Lock()
	var old []string
	for id := range m.live {
		old = append(old, id)
	}
	m.mu.Unlock()
	p.Replace(context.Background(), "py", Bounds{Min: 1, Max: 1})
	m.mu.Lock()
	for _, id := range old {
		if m.live[id] {
			t.Errorf("%s of the old build still live", id)
		}
	}
	m.mu.Unlock()
	eventually(t, "1 new ready", func() bool { return stats(p, "py").Ready == 1 })
	if st := stats(p, "py"); st.Min != 1 || st.Max != 1 {
		t.Errorf("bounds %d..%d after Replace", st.Min, st.Max)
	}
}

// Under a memory budget too small for every pool's wish, a pool that
// wants little keeps it and the busy one gets the rest, not all.
func TestMemoryBudgetSharedFairly(t *testing.T) {
	pools := map[string]*bucket{
		"busy":  {target: 8, memMiB: 100},
		"small": {target: 2, memMiB: 100},
		"big":   {target: 8, memMiB: 200},
		"new":   {target: 3}, // memory not known yet: not cut
	}
	fairShare(1000, pools)
	got := map[string]int{}
	for n, b := range pools {
		got[n] = b.target
	}
	// small keeps 2 (200 MiB); busy and big split the 800 left: 400 each.
	want := map[string]int{"busy": 4, "small": 2, "big": 2, "new": 3}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s: target %d, want %d (all: %v)", n, got[n], w, got)
		}
	}
}

func TestBoundsValidate(t *testing.T) {
	for _, b := range []Bounds{{Min: -1}, {Min: 3, Max: 2}, {Max: MaxSize + 1}} {
		if b.Validate() == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}
