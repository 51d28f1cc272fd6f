package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeHost points the scan at a directory tree shaped like /proc and
// /sys, with one sandbox (sb1) holding one of everything and a process
// of another driver's sandbox and of the host beside it.
func fakeHost(t *testing.T) {
	t.Helper()
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/10/cgroup", "12:pids:/soulbox-1a2b3c4d/sb1\n11:memory:/soulbox-1a2b3c4d/sb1\n")
	write("proc/10/status", "Name:\tsoulbox-agent\nVmRSS:\t    8192 kB\n")
	write("proc/10/smaps_rollup", "Rss:  8192 kB\nPss:  2048 kB\n")
	write("proc/11/cgroup", "12:pids:/soulbox-1a2b3c4d/sb1\n")
	write("proc/11/status", "Name:\tbash\nVmRSS:\t    1024 kB\n")
	write("proc/20/cgroup", "12:pids:/soulbox-1a2b3c4d/sb9\n") // not one of ours
	write("proc/30/cgroup", "12:pids:/user.slice\n")
	write("proc/self/mountinfo", "36 35 98:0 / /data/sandboxes/sb1/rootfs rw - overlay overlay rw\n"+
		"37 35 98:0 / /data/sandboxes/sb10/rootfs rw - overlay overlay rw\n")
	write("sys/fs/cgroup/memory/soulbox-1a2b3c4d/sb1/tasks", "")
	write("sys/fs/cgroup/pids/soulbox-1a2b3c4d/sb1/tasks", "")
	write("sys/fs/cgroup/pids/user.slice/sb1/tasks", "") // not under a driver's parent
	write("sys/class/net/sbx1/ifalias", "soulbox:sb1\n")
	write("sys/class/net/eth0/ifalias", "\n")
	write("sys/block/loop3/loop/backing_file", "/data/sandboxes/sb1/disk.img\n")
	write("sys/block/loop4/loop/backing_file", "/var/lib/other/sb1.img\n") // a file named like it, not under a directory of it

	old := []string{procDir, cgroupDir, netDir, blockDir}
	procDir, cgroupDir = filepath.Join(root, "proc"), filepath.Join(root, "sys/fs/cgroup")
	netDir, blockDir = filepath.Join(root, "sys/class/net"), filepath.Join(root, "sys/block")
	t.Cleanup(func() { procDir, cgroupDir, netDir, blockDir = old[0], old[1], old[2], old[3] })
}

// A sandbox's processes (with their memory), cgroups, mounts, link and
// loop device are found by its id, and nothing of another sandbox or of
// the host is taken for its.
func TestScanHost(t *testing.T) {
	fakeHost(t)
	use, err := scanHost(map[string]bool{"sb1": true, "sb2": true})
	if err != nil {
		t.Fatal(err)
	}
	got := use["sb1"]
	want := hostUse{Processes: 2, RSSBytes: 9216 << 10, PSSBytes: 2048 << 10, Cgroups: 2, Mounts: 1, Links: 1, LoopDevices: 1}
	if got == nil || *got != want {
		t.Fatalf("sb1 holds %+v, want %+v", got, want)
	}
	if u := use["sb2"]; u != nil && !u.empty() {
		t.Errorf("sb2, which has nothing, holds %+v", u)
	}
	left := leftovers(use)
	for _, w := range []string{"2 processes of 1 sandboxes", "2 cgroups of 1 sandboxes", "1 mounts of 1 sandboxes", "1 network links of 1 sandboxes", "1 loop devices of 1 sandboxes"} {
		if !slices.Contains(left, w) {
			t.Errorf("leftovers %q miss %q", strings.Join(left, ", "), w)
		}
	}
}

// Sandboxes that hold nothing leave nothing to report.
func TestLeftoversNone(t *testing.T) {
	fakeHost(t)
	use, err := scanHost(map[string]bool{"sb2": true})
	if err != nil {
		t.Fatal(err)
	}
	if left := leftovers(use); len(left) != 0 {
		t.Errorf("leftovers %v of a sandbox that holds nothing", left)
	}
}

// The memory floor stops idle sandboxes from being created once this
// machine has less available, and is off at 0.
func TestIdleMemoryFloor(t *testing.T) {
	avail, err := memAvailable()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: Defaults()}
	r.cfg.IdleMinAvailableMiB = avail>>20 + 1<<20 // a TiB more than there is
	if err := r.memoryLeft(); err == nil || !strings.Contains(err.Error(), "--idle-min-available-mib") {
		t.Errorf("memoryLeft under the floor: %v, want an error naming --idle-min-available-mib", err)
	}
	r.cfg.IdleMinAvailableMiB = 0
	if err := r.memoryLeft(); err != nil {
		t.Errorf("memoryLeft with no floor: %v", err)
	}
	cfg := Defaults()
	cfg.IdleMinAvailableMiB = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "idle memory floor -1") {
		t.Errorf("a negative floor: %v, want it refused", err)
	}
}
