package node

import (
	goruntime "runtime"
	"sync"
)

// Host is what a host has and uses now: what a node's heartbeat reports.
type Host struct {
	CPUCount         int
	CPUPercent       float64
	MemoryTotalBytes uint64
	MemoryUsedBytes  uint64
	Disk             Disk
}

// HostReader reads a host's figures from /proc and statfs, with the
// filesystem of DataDir as its disk; the CPU use is since its previous
// read (since boot for the first).
type HostReader struct {
	DataDir string

	mu   sync.Mutex
	last cpuTimes
}

// Read reads the host now.
func (h *HostReader) Read() (Host, error) {
	out := Host{CPUCount: goruntime.NumCPU()}
	cur, err := readCPUTimes()
	if err != nil {
		return out, err
	}
	h.mu.Lock()
	out.CPUPercent = cur.percentSince(h.last)
	h.last = cur
	h.mu.Unlock()
	if out.MemoryTotalBytes, out.MemoryUsedBytes, err = readMemory(); err != nil {
		return out, err
	}
	if out.Disk, err = diskOf(h.DataDir); err != nil {
		return out, err
	}
	return out, nil
}
