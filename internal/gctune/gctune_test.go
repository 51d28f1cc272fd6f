package gctune

import (
	"math"
	"os"
	"path/filepath"
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
	want := Limit(hostMemory(), cgroupMemoryLimit("/proc/self/cgroup", "/sys/fs/cgroup"))
	if want == 0 || l != int64(want) {
		t.Errorf("GOMEMLIMIT unset: limit %d, want %d", l, want)
	}

	// What the operator set is left as the runtime took it.
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	Apply(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}))
	if p, l := current(); p != 150 || l != 1<<30 {
		t.Errorf("GOGC and GOMEMLIMIT set: percent %d, limit %d; want 150 and %d, untouched", p, l, 1<<30)
	}
}

func TestLimit(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct{ host, cgroup, want uint64 }{
		{24 * gib, 0, 6 * gib},            // no cgroup limit: a quarter of the host
		{24 * gib, 1<<63 - 4096, 6 * gib}, // v1's "unlimited"
		{24 * gib, 2 * gib, 3 * gib / 2},  // a container's limit: three quarters of it
		{24 * gib, 32 * gib, 6 * gib},     // a limit above the host's memory
		{0, 2 * gib, 3 * gib / 2},         // the host's memory unknown
		{0, 0, 0},                         // nothing known: no limit
	} {
		if got := Limit(c.host, c.cgroup); got != c.want {
			t.Errorf("Limit(%d, %d) = %d, want %d", c.host, c.cgroup, got, c.want)
		}
	}
}

// The cgroup's limit is found for v1 and v2 layouts as /proc/self/cgroup
// names them; no limit, or an unreadable one, is 0.
func TestCgroupMemoryLimit(t *testing.T) {
	root := t.TempDir()
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "memory", "kubepods", "pod1", "memory.limit_in_bytes"), "536870912\n")
	write(filepath.Join(root, "kubepods", "pod2", "memory.max"), "1073741824\n")
	write(filepath.Join(root, "unlimited", "memory.max"), "max\n")
	for _, c := range []struct {
		name, procCgroup string
		want             uint64
	}{
		{"v1", "12:pids:/kubepods/pod1\n9:cpu,cpuacct:/kubepods/pod1\n4:memory:/kubepods/pod1\n0::/\n", 512 << 20},
		{"v2", "0::/kubepods/pod2\n", 1 << 30},
		{"v2 unlimited", "0::/unlimited\n", 0},
		{"no such cgroup", "4:memory:/gone\n", 0},
		{"garbage", "not a cgroup line\n", 0},
	} {
		p := filepath.Join(t.TempDir(), "cgroup")
		write(p, c.procCgroup)
		if got := cgroupMemoryLimit(p, root); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if got := cgroupMemoryLimit(filepath.Join(root, "none"), root); got != 0 {
		t.Errorf("no /proc file: %d, want 0", got)
	}
}
