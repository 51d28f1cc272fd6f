package node

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/mountinfo"
)

// Usage is what the control plane knows of a node's sandboxes: Live
// counts the running ones (not paused), Starting those being created;
// CPU and MemoryBytes sum what both were given.
type Usage struct {
	Live, Starting  int
	CPU             int
	MemoryBytes     uint64
	Created, Failed uint64
}

// Local is the one node of a single-host server: the host it runs on.
type Local struct {
	// ID names the node; Version and Commit are the server's.
	ID, Version, Commit string
	// DataDir is where sandboxes and templates live: its filesystem is
	// the node's disk.
	DataDir string
	// Usage counts the node's sandboxes; Healthy says whether it can
	// create sandboxes now.
	Usage   func(ctx context.Context) (Usage, error)
	Healthy func(ctx context.Context) bool
	// Pooled lists the templates the warm pool has a sandbox of ready,
	// for placement; nil: none.
	Pooled func() []string

	mu   sync.Mutex
	last cpuTimes
}

var _ Lister = (*Local)(nil)

// Nodes implements Lister: this host.
func (l *Local) Nodes(ctx context.Context) ([]Info, error) {
	u, err := l.Usage(ctx)
	if err != nil {
		return nil, err
	}
	n := Info{
		ID: l.ID, ServiceInstanceID: l.ID, ClusterID: "", Status: StatusReady, Version: l.Version, Commit: l.Commit,
		Machine: readMachine(), SandboxCount: u.Live, SandboxStarting: u.Starting,
		AllocatedCPU: u.CPU, AllocatedMemoryBytes: u.MemoryBytes, CPUCount: goruntime.NumCPU(),
		CreateSuccesses: u.Created, CreateFails: u.Failed,
	}
	if l.Healthy != nil && !l.Healthy(ctx) {
		n.Status = StatusUnhealthy
	}
	if cur, err := readCPUTimes(); err == nil {
		l.mu.Lock()
		n.CPUPercent = cur.percentSince(l.last)
		l.last = cur
		l.mu.Unlock()
	}
	n.MemoryTotalBytes, n.MemoryUsedBytes, _ = readMemory()
	if d, err := diskOf(l.DataDir); err == nil {
		n.Disks = []Disk{d}
	}
	return []Info{n}, nil
}

// cpuTimes is the first line of /proc/stat: jiffies spent busy and in
// total.
type cpuTimes struct{ busy, total uint64 }

func readCPUTimes() (cpuTimes, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuTimes{}, fmt.Errorf("/proc/stat is empty")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("/proc/stat: unexpected first line %q", sc.Text())
	}
	var t cpuTimes
	for i, s := range fields[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		if i == 8 || i == 9 { // guest times are already in user and nice
			continue
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t, nil
}

func (c cpuTimes) percentSince(prev cpuTimes) float64 {
	if c.total <= prev.total || c.busy < prev.busy {
		return 0
	}
	return 100 * float64(c.busy-prev.busy) / float64(c.total-prev.total)
}

// readMemory reads the host's memory and what is in use (total less
// available) from /proc/meminfo.
func readMemory() (total, used uint64, err error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var avail uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = kb << 10
		case "MemAvailable":
			avail = kb << 10
		}
	}
	return total, total - min(avail, total), sc.Err()
}

// diskOf is the filesystem dir is on: its mount (the deepest mount point
// above dir) and its use.
func diskOf(dir string) (Disk, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Disk{}, err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(abs, &st); err != nil {
		return Disk{}, err
	}
	d := Disk{MountPoint: "/", TotalBytes: st.Blocks * uint64(st.Bsize)}
	d.UsedBytes = d.TotalBytes - st.Bfree*uint64(st.Bsize)
	if ms, err := mountinfo.Read(); err == nil {
		for _, m := range ms {
			if (abs == m.Point || strings.HasPrefix(abs, strings.TrimSuffix(m.Point, "/")+"/")) && len(m.Point) >= len(d.MountPoint) {
				d.MountPoint, d.Device, d.FSType = m.Point, m.Source, m.FSType
			}
		}
	}
	return d, nil
}

// readMachine reads the CPU's family and model from /proc/cpuinfo.
func readMachine() Machine {
	m := Machine{Arch: goruntime.GOARCH}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "cpu family":
			m.CPUFamily = v
		case "model":
			m.CPUModel = v
		case "model name":
			m.CPUModelName = v
		}
		if line == "" && m.CPUModelName != "" {
			break // the first processor is enough
		}
	}
	return m
}
