package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// hostUse is what one sandbox holds on the machine the bench runs on, as
// the bench finds it by the sandbox's id: its processes and their
// resident memory, and the cgroups, mounts, network links and loop
// devices named after it. It is only meaningful when the bench runs on
// the server's host, in the host's namespaces.
type hostUse struct {
	Processes int
	// RSSBytes counts every resident page of each process, shared ones
	// (the agent's binary, libraries) once per process; PSSBytes divides
	// a shared page among the processes sharing it.
	RSSBytes    int64
	PSSBytes    int64
	Cgroups     int
	Mounts      int
	Links       int
	LoopDevices int
}

func (u hostUse) empty() bool { return u == hostUse{} }

// The host's views the scan reads; tests point them elsewhere.
var (
	procDir   = "/proc"
	cgroupDir = cgroupRoot
	netDir    = "/sys/class/net"
	blockDir  = "/sys/block"
)

// cgroupRoot is where the host mounts its cgroup hierarchies.
const cgroupRoot = "/sys/fs/cgroup"

// linkAliasPrefix starts the alias of a sandbox's host-side link; the
// rest of the alias is the sandbox's id (internal/network).
const linkAliasPrefix = "soulbox:"

// scanHost finds what the sandboxes ids hold on this host. A process is a
// sandbox's when its cgroup path has the sandbox's id as a component;
// mounts and loop devices when their path does; cgroups are the
// sandboxes' directories under the drivers' "soulbox-" parents.
func scanHost(ids map[string]bool) (map[string]*hostUse, error) {
	use := map[string]*hostUse{}
	at := func(id string) *hostUse {
		if use[id] == nil {
			use[id] = &hostUse{}
		}
		return use[id]
	}
	if err := scanProcesses(ids, at); err != nil {
		return nil, err
	}
	if err := scanCgroups(ids, at); err != nil {
		return nil, err
	}
	mounts, err := os.ReadFile(filepath.Join(procDir, "self", "mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("read this host's mounts: %w", err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if id, ok := idIn(f[4], ids); ok {
			at(id).Mounts++
		}
	}
	links, _ := filepath.Glob(filepath.Join(netDir, "*", "ifalias"))
	for _, p := range links {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the link went while the scan ran
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(string(b)), linkAliasPrefix); ok && ids[id] {
			at(id).Links++
		}
	}
	loops, _ := filepath.Glob(filepath.Join(blockDir, "loop*", "loop", "backing_file"))
	for _, p := range loops {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // detached while the scan ran
		}
		if id, ok := idIn(strings.TrimSpace(string(b)), ids); ok {
			at(id).LoopDevices++
		}
	}
	return use, nil
}

// scanProcesses counts each sandbox's processes and adds up their VmRSS.
func scanProcesses(ids map[string]bool, at func(string) *hostUse) error {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return fmt.Errorf("list this host's processes: %w", err)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cgroup"))
		if err != nil {
			continue // the process ended
		}
		id, ok := "", false
		for _, line := range strings.Split(string(cg), "\n") {
			// hierarchy-id:controllers:path
			if parts := strings.SplitN(line, ":", 3); len(parts) == 3 {
				if id, ok = idIn(parts[2], ids); ok {
					break
				}
			}
		}
		if !ok {
			continue
		}
		u := at(id)
		u.Processes++
		u.RSSBytes += statusKB(filepath.Join(procDir, e.Name(), "status"), "VmRSS:") << 10
		u.PSSBytes += statusKB(filepath.Join(procDir, e.Name(), "smaps_rollup"), "Pss:") << 10
	}
	return nil
}

// statusKB reads the kB figure of the line starting with field in a
// process's status or smaps_rollup; 0 for a process that ended or has
// none (a kernel thread, a zombie).
func statusKB(file, field string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb
		}
	}
	return 0
}

// scanCgroups counts the sandboxes' cgroup directories in every
// hierarchy: <hierarchy>/soulbox-*/<id> (v1 and hybrid) and
// soulbox-*/<id> at the root (v2).
func scanCgroups(ids map[string]bool, at func(string) *hostUse) error {
	var parents []string
	for _, pattern := range []string{filepath.Join(cgroupDir, "soulbox-*"), filepath.Join(cgroupDir, "*", "soulbox-*")} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return fmt.Errorf("list the sandboxes' cgroups: %w", err)
		}
		parents = append(parents, m...)
	}
	for _, p := range parents {
		ents, err := os.ReadDir(p)
		if err != nil {
			continue // not a directory, or removed meanwhile
		}
		for _, e := range ents {
			if e.IsDir() && ids[e.Name()] {
				at(e.Name()).Cgroups++
			}
		}
	}
	return nil
}

// idIn returns the id in ids that is a component of path.
func idIn(path string, ids map[string]bool) (string, bool) {
	for _, c := range strings.Split(path, "/") {
		if c != "" && ids[c] {
			return c, true
		}
	}
	return "", false
}

// leftovers describes what the sandboxes still hold, one line per kind
// with the number of sandboxes and items; empty when nothing is left.
func leftovers(use map[string]*hostUse) []string {
	type count struct{ sandboxes, items int }
	kinds := map[string]*count{}
	add := func(kind string, n int) {
		if n == 0 {
			return
		}
		if kinds[kind] == nil {
			kinds[kind] = &count{}
		}
		kinds[kind].sandboxes++
		kinds[kind].items += n
	}
	for _, u := range use {
		add("processes", u.Processes)
		add("cgroups", u.Cgroups)
		add("mounts", u.Mounts)
		add("network links", u.Links)
		add("loop devices", u.LoopDevices)
	}
	var out []string
	for kind, c := range kinds {
		out = append(out, fmt.Sprintf("%d %s of %d sandboxes", c.items, kind, c.sandboxes))
	}
	sort.Strings(out)
	return slices.Clip(out)
}
