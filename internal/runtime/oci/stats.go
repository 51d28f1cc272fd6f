package oci

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/runtime"
)

// Stats reads the sandbox's usage from its cgroups and its disk.
func (d *Driver) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	s := runtime.Stats{Timestamp: time.Now().UTC()}
	if err := runtime.ValidateID(id); err != nil {
		return s, err
	}
	if _, err := d.readState(id); err != nil {
		return s, err
	}
	var err error
	if d.cgroups.unified {
		err = d.statsV2(id, &s)
	} else {
		err = d.statsV1(id, &s)
	}
	if err != nil {
		return s, fmt.Errorf("sandbox %q: stats: %w", id, err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(d.diskDir(id), &fs); err == nil {
		s.DiskTotal = fs.Blocks * uint64(fs.Bsize)
		s.DiskUsed = (fs.Blocks - fs.Bfree) * uint64(fs.Bsize)
	}
	if d.network != nil {
		s.NetRxBytes, s.NetTxBytes, _ = d.network.Counters(id)
	}
	return s, nil
}

func (d *Driver) statsV1(id string, s *runtime.Stats) error {
	var err error
	if s.CPUUsageNanos, err = readUint(filepath.Join(d.cgroups.dir("cpuacct", id), "cpuacct.usage")); err != nil {
		return err
	}
	mem := d.cgroups.dir("memory", id)
	if s.MemoryUsage, err = readUint(filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return err
	}
	if s.MemoryLimit, err = readUint(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
		return err
	}
	if st, err := readKeyed(filepath.Join(mem, "memory.stat")); err == nil {
		s.MemoryCache = st["total_cache"]
	}
	// cgroup v1 counts an OOM kill only in the cgroup whose limit was hit:
	// the sandbox's or its user cgroup's.
	for _, dir := range []string{mem, filepath.Join(mem, userCgroupName)} {
		if oc, err := readKeyed(filepath.Join(dir, "memory.oom_control")); err == nil {
			s.OOMKills += oc["oom_kill"]
		}
	}
	pids := d.cgroups.dir("pids", id)
	if s.Pids, err = readUint(filepath.Join(pids, "pids.current")); err != nil {
		return err
	}
	s.PidsLimit, _ = readUint(filepath.Join(pids, "pids.max"))
	return nil
}

func (d *Driver) statsV2(id string, s *runtime.Stats) error {
	dir := d.cgroups.dir("", id)
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return err
	}
	s.MemoryLimit, _ = readUint(filepath.Join(dir, "memory.max"))
	if st, err := readKeyed(filepath.Join(dir, "memory.stat")); err == nil {
		s.MemoryCache = st["file"]
	}
	if ev, err := readKeyed(filepath.Join(dir, "memory.events")); err == nil {
		s.OOMKills = ev["oom_kill"]
	}
	if s.Pids, err = readUint(filepath.Join(dir, "pids.current")); err != nil {
		return err
	}
	s.PidsLimit, _ = readUint(filepath.Join(dir, "pids.max"))
	return nil
}
