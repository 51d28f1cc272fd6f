package node

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLocalNode: the host's figures are read and within bounds, the
// data dir's filesystem is the disk, the usage counts are passed on, and
// a failing readiness makes the node unhealthy.
func TestLocalNode(t *testing.T) {
	dir := t.TempDir()
	healthy := true
	l := &Local{ID: "host-1", Version: "v", DataDir: dir,
		Usage: func(context.Context) (Usage, error) {
			return Usage{Live: 3, Starting: 1, CPU: 5, MemoryBytes: 1 << 30, Created: 7, Failed: 2}, nil
		},
		Healthy: func(context.Context) bool { return healthy }}
	for i := range 2 { // the second reads CPU since the first
		ns, err := l.Nodes(context.Background())
		if err != nil || len(ns) != 1 {
			t.Fatalf("Nodes = %v, %v", ns, err)
		}
		n := ns[0]
		if n.ID != "host-1" || n.Status != StatusReady || n.SandboxCount != 3 || n.SandboxStarting != 1 || n.AllocatedCPU != 5 ||
			n.AllocatedMemoryBytes != 1<<30 || n.CreateSuccesses != 7 || n.CreateFails != 2 {
			t.Errorf("read %d: %+v", i, n)
		}
		if n.CPUCount < 1 || n.CPUPercent < 0 || n.CPUPercent > 100 || n.MemoryTotalBytes == 0 || n.MemoryUsedBytes > n.MemoryTotalBytes {
			t.Errorf("read %d: host figures %+v", i, n)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if len(n.Disks) != 1 || n.Disks[0].TotalBytes != st.Blocks*uint64(st.Bsize) || n.Disks[0].FSType == "" || n.Disks[0].MountPoint == "" {
			t.Errorf("read %d: disks %+v", i, n.Disks)
		}
	}
	healthy = false
	if ns, _ := l.Nodes(context.Background()); ns[0].Status != StatusUnhealthy {
		t.Errorf("a node failing its readiness is %s", ns[0].Status)
	}
	l.Usage = func(context.Context) (Usage, error) { return Usage{}, errors.New("store down") }
	if _, err := l.Nodes(context.Background()); err == nil {
		t.Errorf("a failed count is no error")
	}
}

func TestCPUPercent(t *testing.T) {
	for _, c := range []struct {
		prev, cur cpuTimes
		want      float64
	}{
		{cpuTimes{0, 0}, cpuTimes{50, 200}, 25},
		{cpuTimes{50, 200}, cpuTimes{150, 300}, 100},
		{cpuTimes{50, 200}, cpuTimes{50, 200}, 0}, // no time passed
		{cpuTimes{50, 200}, cpuTimes{10, 100}, 0}, // counters went back (a reboot)
	} {
		if got := c.cur.percentSince(c.prev); got != c.want {
			t.Errorf("%+v since %+v = %v, want %v", c.cur, c.prev, got, c.want)
		}
	}
}
