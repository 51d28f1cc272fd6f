package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

// current reads GOGC and the memory limit without changing them.
func current() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestApply(t *testing.T) {
	p0, l0 := current()
	t.Cleanup(func() {
		debug.SetGCPercent(p0)
		debug.SetMemoryLimit(l0)
	})
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	Apply(env(nil))
	p, l := current()
	if p != Percent {
		t.Errorf("GOGC unset: percent %d, want %d", p, Percent)
	}
	if total := hostMemory(); total == 0 || l != int64(total/4) {
		t.Errorf("GOMEMLIMIT unset: limit %d, want a quarter of %d", l, total)
	}

	// What the operator set is left as the runtime took it.
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	Apply(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}))
	if p, l := current(); p != 150 || l != 1<<30 {
		t.Errorf("GOGC and GOMEMLIMIT set: percent %d, limit %d; want 150 and %d, untouched", p, l, 1<<30)
	}
}
