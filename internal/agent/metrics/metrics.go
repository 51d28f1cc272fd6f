// Package metrics reads a sandbox's resource usage from inside it, from
// its own cgroup (the sandbox has a cgroup namespace, so its cgroup is the
// root of what it sees) and its root filesystem, in the shape of envd's
// GET /metrics.
package metrics

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Metrics is the body of GET /metrics, with envd's field names.
type Metrics struct {
	Timestamp   int64   `json:"ts"`
	CPUCount    int     `json:"cpu_count"`
	CPUUsedPct  float64 `json:"cpu_used_pct"`
	MemTotal    uint64  `json:"mem_total"`
	MemUsed     uint64  `json:"mem_used"`
	MemCache    uint64  `json:"mem_cache"`
	MemTotalMiB uint64  `json:"mem_total_mib"`
	MemUsedMiB  uint64  `json:"mem_used_mib"`
	DiskUsed    uint64  `json:"disk_used"`
	DiskTotal   uint64  `json:"disk_total"`
}

// Reader reads metrics; CPU use is the share of the sandbox's CPUs used
// since the previous read.
type Reader struct {
	// Root is where the cgroup hierarchy is mounted (/sys/fs/cgroup).
	Root string
	// Disk is a path on the filesystem whose usage is reported (/).
	Disk string

	mu       sync.Mutex
	lastCPU  uint64
	lastTime time.Time
}

// NewReader reads the sandbox's own cgroup and root filesystem.
func NewReader() *Reader { return &Reader{Root: "/sys/fs/cgroup", Disk: "/"} }

// Read samples the metrics now.
func (r *Reader) Read() Metrics {
	now := time.Now()
	m := Metrics{Timestamp: now.Unix(), CPUCount: r.cpuCount()}
	usage := r.cpuUsage()
	r.mu.Lock()
	if !r.lastTime.IsZero() && usage >= r.lastCPU {
		wall := now.Sub(r.lastTime).Nanoseconds()
		if wall > 0 && m.CPUCount > 0 {
			m.CPUUsedPct = 100 * float64(usage-r.lastCPU) / float64(wall) / float64(m.CPUCount)
			m.CPUUsedPct = float64(int(m.CPUUsedPct*100)) / 100
		}
	}
	r.lastCPU, r.lastTime = usage, now
	r.mu.Unlock()

	m.MemUsed, m.MemTotal, m.MemCache = r.memory()
	m.MemUsedMiB, m.MemTotalMiB = m.MemUsed>>20, m.MemTotal>>20
	var fs unix.Statfs_t
	if err := unix.Statfs(r.Disk, &fs); err == nil {
		m.DiskTotal = fs.Blocks * uint64(fs.Bsize)
		m.DiskUsed = (fs.Blocks - fs.Bfree) * uint64(fs.Bsize)
	}
	return m
}

// cpuCount is the CPU quota in whole CPUs (at least 1), or the machine's.
func (r *Reader) cpuCount() int {
	if b, err := os.ReadFile(filepath.Join(r.Root, "cpu.max")); err == nil { // v2
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			return ceilDiv(atoi(f[0]), atoi(f[1]))
		}
		return goruntime.NumCPU()
	}
	quota := atoi(readTrim(filepath.Join(r.Root, "cpu", "cpu.cfs_quota_us")))
	period := atoi(readTrim(filepath.Join(r.Root, "cpu", "cpu.cfs_period_us")))
	if quota > 0 && period > 0 {
		return ceilDiv(quota, period)
	}
	return goruntime.NumCPU()
}

// cpuUsage is the cumulative CPU time of the sandbox in nanoseconds.
func (r *Reader) cpuUsage() uint64 {
	if b, err := os.ReadFile(filepath.Join(r.Root, "cpu.stat")); err == nil { // v2
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				return uint64(atoi(v)) * 1000
			}
		}
	}
	for _, p := range []string{"cpuacct/cpuacct.usage", "cpu,cpuacct/cpuacct.usage"} {
		if s := readTrim(filepath.Join(r.Root, p)); s != "" {
			return uint64(atoi(s))
		}
	}
	return 0
}

// memory returns used (without page cache, as `free` counts it), the
// limit (or the machine's memory) and the page cache, in bytes.
func (r *Reader) memory() (used, total, cache uint64) {
	var usage, limit uint64
	var stat map[string]uint64
	if s := readTrim(filepath.Join(r.Root, "memory.current")); s != "" { // v2
		usage = uint64(atoi(s))
		if l := readTrim(filepath.Join(r.Root, "memory.max")); l != "max" {
			limit = uint64(atoi(l))
		}
		stat = keyed(filepath.Join(r.Root, "memory.stat"))
		cache = stat["file"]
	} else {
		usage = uint64(atoi(readTrim(filepath.Join(r.Root, "memory", "memory.usage_in_bytes"))))
		limit = uint64(atoi(readTrim(filepath.Join(r.Root, "memory", "memory.limit_in_bytes"))))
		stat = keyed(filepath.Join(r.Root, "memory", "memory.stat"))
		cache = stat["total_cache"]
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		if machine := si.Totalram * uint64(si.Unit); limit == 0 || limit > machine {
			limit = machine
		}
	}
	if usage > cache {
		used = usage - cache
	}
	return used, limit, cache
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func keyed(p string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(readTrim(p), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			out[k] = uint64(atoi(v))
		}
	}
	return out
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

func ceilDiv(a, b int64) int {
	if b <= 0 {
		return 1
	}
	n := int((a + b - 1) / b)
	return max(n, 1)
}
