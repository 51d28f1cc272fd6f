package runtimetest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/soulbox/soulbox/internal/mountinfo"
	"github.com/soulbox/soulbox/internal/runtime"
)

// assertNoLeftovers checks the host, not the driver's word, for anything
// of the sandbox: processes in its uid range, mounts and cgroups named
// after it; then asks the driver for anything else it holds.
func assertNoLeftovers(t *testing.T, d runtime.Driver, info runtime.Info) {
	t.Helper()
	ctx := context.Background()
	id := info.ID
	if list, err := d.List(ctx); err != nil {
		t.Errorf("list: %v", err)
	} else {
		for _, s := range list {
			if s.ID == id {
				t.Errorf("sandbox %s still listed by the driver (%s)", id, s.Status)
			}
		}
	}
	for _, m := range mountsNaming(id) {
		t.Errorf("sandbox %s left a mount: %s", id, m)
	}
	for _, c := range cgroupsNaming(id) {
		t.Errorf("sandbox %s left a cgroup: %s", id, c)
	}
	if info.HostUID != 0 {
		// A process killed a moment ago may still be on its way out.
		deadline := time.Now().Add(15 * time.Second)
		procs := processesInRange(info.HostUID, info.HostUID+65536, id)
		for len(procs) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			procs = processesInRange(info.HostUID, info.HostUID+65536, id)
		}
		for _, p := range procs {
			t.Errorf("sandbox %s left a process: %s", id, p)
		}
	}
	for _, n := range networkObjectsNaming(id) {
		t.Errorf("sandbox %s left %s", id, n)
	}
	if lc, ok := d.(LeakChecker); ok {
		for _, l := range lc.Leftovers(ctx, id) {
			t.Errorf("sandbox %s: driver still holds %s", id, l)
		}
	}
}

// mountsNaming lists host mount points with id as a path component.
func mountsNaming(id string) []string {
	mounts, err := mountinfo.Read()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, m := range mounts {
		if strings.Contains(m.Point+"/", "/"+id+"/") {
			out = append(out, m.Point)
		}
	}
	return out
}

// cgroupsNaming lists cgroup directories named id, up to three levels
// below any cgroup mount.
func cgroupsNaming(id string) []string {
	var out []string
	for _, mnt := range cgroupMounts() {
		_ = filepath.WalkDir(mnt, func(p string, e os.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			if strings.Count(strings.TrimPrefix(p, mnt), "/") > 3 {
				return filepath.SkipDir
			}
			if e.Name() == id {
				out = append(out, p)
				return filepath.SkipDir
			}
			return nil
		})
	}
	return out
}

func cgroupMounts() []string {
	mounts, _ := mountinfo.Read()
	var out []string
	for _, m := range mounts {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			out = append(out, m.Point)
		}
	}
	return out
}

// processesInRange lists live host processes whose real uid is in
// [lo, hi), left by sandbox id. Zombies are dead: they hold a pid until
// whoever adopted them (the host's init, once the runtime has exited)
// waits for them, and nothing else. A uid range is free again once its
// sandbox is destroyed, and another test process on the host may have
// given it to a sandbox of its own since: a process in a cgroup of
// another sandbox is that one's, not a leak of id's.
func processesInRange(lo, hi uint32, id string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), "\nState:\tZ") {
			continue
		}
		if cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup")); err == nil && inOtherSandbox(string(cg), id) {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					if uid, err := strconv.ParseUint(f[0], 10, 32); err == nil && uint32(uid) >= lo && uint32(uid) < hi {
						out = append(out, "pid "+e.Name())
					}
				}
			}
		}
	}
	return out
}

// networkObjectsNaming lists host links whose alias names the sandbox (as
// SoulBox's network manager labels the host side of a sandbox's link) and
// nftables tables whose name ends with its id.
func networkObjectsNaming(id string) []string {
	var out []string
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			if strings.HasSuffix(l.Attrs().Alias, ":"+id) {
				out = append(out, "link "+l.Attrs().Name)
			}
		}
	}
	if c, err := nftables.New(); err == nil {
		if tables, err := c.ListTables(); err == nil {
			for _, tb := range tables {
				if strings.HasSuffix(tb.Name, "-"+id) {
					out = append(out, "nftables table "+tb.Name)
				}
			}
		}
	}
	return out
}

// inOtherSandbox reports whether a /proc/<pid>/cgroup text places the
// process in the cgroup of a sandbox other than id: a path with a
// component soulbox-<hash> followed by a sandbox id.
func inOtherSandbox(cgroups, id string) bool {
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		comps := strings.Split(parts[2], "/")
		for i, c := range comps {
			if strings.HasPrefix(c, "soulbox-") && i+1 < len(comps) && comps[i+1] != "" {
				return comps[i+1] != id
			}
		}
	}
	return false
}
