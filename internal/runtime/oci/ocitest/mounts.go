package ocitest

import (
	"os"
	"path/filepath"
	"strings"
)

// mountsUnder lists mount points at or below dir.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// removeEmptyCgroupParents removes the drivers' parent cgroups
// (soulbox-<hash>) that hold no sandbox any more. rmdir of a cgroup fails
// while it has children or processes, so a live driver's parent survives.
func removeEmptyCgroupParents() {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		i := strings.Index(line, " - cgroup")
		if i < 0 {
			continue
		}
		mnt := strings.Fields(line)[4]
		parents, _ := filepath.Glob(filepath.Join(mnt, "soulbox-*"))
		for _, p := range parents {
			_ = os.Remove(p)
		}
	}
}
