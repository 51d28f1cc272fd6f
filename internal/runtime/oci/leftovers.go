package oci

import (
	"context"
	"os"
	"strconv"
	"strings"
)

// Leftovers (runtimetest.LeakChecker) lists what the driver still holds for id: its directory, a
// runtime container, mounts under its directory, cgroups, a loop device
// backed by its disk image, a uid range, network objects.
func (d *Driver) Leftovers(ctx context.Context, id string) []string {
	var out []string
	if _, err := os.Lstat(d.sandboxDir(id)); err == nil {
		out = append(out, "directory "+d.sandboxDir(id))
	}
	for _, rt := range knownRuntimes {
		if _, err := d.state(ctx, rt, id); err == nil {
			out = append(out, rt+" container")
		}
	}
	if mounts, _ := mountsUnder(d.sandboxDir(id)); len(mounts) > 0 {
		out = append(out, "mounts "+strings.Join(mounts, ", "))
	}
	if d.cgroups.exists(id) {
		out = append(out, "cgroups")
	}
	// Once the driver has no sandbox, its parent cgroup must be gone too.
	if parents := d.cgroups.parentDirs(); len(parents) > 0 {
		if entries, err := os.ReadDir(d.sandboxesDir()); err == nil && len(entries) == 0 && len(d.cgroups.parentDirs()) > 0 {
			out = append(out, "empty cgroup parent "+strings.Join(parents, ", "))
		}
	}
	if dev := loopBacking(d.diskImage(id)); dev != "" {
		out = append(out, "loop device "+dev)
	}
	if d.network != nil {
		out = append(out, d.network.Leftovers(ctx, id)...)
	}
	if uid, ok := d.holdsSlot(id); ok {
		out = append(out, "uid range from "+strconv.Itoa(uid))
	}
	return out
}

// loopBacking returns the loop device whose backing file is image, if any.
func loopBacking(image string) string {
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		b, err := os.ReadFile("/sys/block/" + e.Name() + "/loop/backing_file")
		if err == nil && strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)") == image {
			return "/dev/" + e.Name()
		}
	}
	return ""
}
