package metrics

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadCgroupV1(t *testing.T) {
	root := t.TempDir()
	write(t, root, "cpu/cpu.cfs_quota_us", "150000\n")
	write(t, root, "cpu/cpu.cfs_period_us", "100000\n")
	write(t, root, "cpuacct/cpuacct.usage", "1000000000\n")
	write(t, root, "memory/memory.usage_in_bytes", "209715200\n")
	write(t, root, "memory/memory.limit_in_bytes", "536870912\n")
	write(t, root, "memory/memory.stat", "cache 1\ntotal_cache 104857600\n")
	r := &Reader{Root: root, Disk: root}
	m := r.Read()
	if m.CPUCount != 2 || m.MemTotal != 512<<20 || m.MemUsed != 100<<20 || m.MemCache != 100<<20 || m.MemUsedMiB != 100 || m.MemTotalMiB != 512 {
		t.Errorf("%+v", m)
	}
	if m.DiskTotal == 0 || m.Timestamp == 0 {
		t.Errorf("disk/ts: %+v", m)
	}
	// One CPU-second over ~0.1 s on 2 CPUs reads as far over 100%: clamp
	// nothing, but it must be the delta since the last read.
	time.Sleep(100 * time.Millisecond)
	write(t, root, "cpuacct/cpuacct.usage", "1100000000\n")
	m = r.Read()
	if m.CPUUsedPct <= 0 || m.CPUUsedPct > 60 {
		t.Errorf("cpu %% = %v, want about 50", m.CPUUsedPct)
	}
}

func TestReadCgroupV2(t *testing.T) {
	root := t.TempDir()
	write(t, root, "cpu.max", "max 100000\n")
	write(t, root, "cpu.stat", "usage_usec 5000\nuser_usec 1\n")
	write(t, root, "memory.current", "1048576\n")
	write(t, root, "memory.max", "max\n")
	write(t, root, "memory.stat", "anon 1\nfile 524288\n")
	m := (&Reader{Root: root, Disk: root}).Read()
	if m.CPUCount < 1 || m.MemUsed != 512<<10 || m.MemCache != 512<<10 || m.MemTotal == 0 {
		t.Errorf("%+v", m)
	}
}
