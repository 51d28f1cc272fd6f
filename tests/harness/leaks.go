package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/mountinfo"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
)

// slotDir is where the runtime driver claims uid ranges on this host.
const slotDir = "/run/soulbox/uid-slots"

// tracked is what the harness learnt about the sandboxes it saw, to look
// for their remains after they end.
type tracked struct {
	mu       sync.Mutex
	hostUIDs map[string]uint32 // sandbox id -> first host uid of its range
	parents  map[string]bool   // cgroup directories the sandboxes live under
}

// Observe records the host uid range and cgroup parent of a sandbox that
// exists now, so that Leftovers can look for its processes and cgroups
// once it has ended.
func (s *Server) Observe(id string) {
	s.t.Helper()
	info, err := s.driver().Info(context.Background(), id)
	if err != nil {
		return // already gone: nothing to learn
	}
	cgroups := runtimetest.CgroupsNaming(id)
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	if s.seen.hostUIDs == nil {
		s.seen.hostUIDs, s.seen.parents = map[string]uint32{}, map[string]bool{}
	}
	s.seen.hostUIDs[id] = info.HostUID
	for _, c := range cgroups {
		s.seen.parents[filepath.Dir(c)] = true
	}
}

// Leftovers lists what the host still holds of this server's sandboxes
// other than those in live (running or paused ones, which hold their
// processes, mounts and cgroups by right): runtime containers, the
// driver's own remains, mounts, cgroups, processes, loop devices, network
// namespaces, uid claims and files under the data dir.
func (s *Server) Leftovers(live map[string]bool) []string {
	s.t.Helper()
	ctx := context.Background()
	d := s.driver()
	var out []string
	list, err := d.List(ctx)
	if err != nil {
		out = append(out, "driver list: "+err.Error())
	}
	for _, info := range list {
		if !live[info.ID] {
			out = append(out, fmt.Sprintf("runtime still has sandbox %s (%s)", info.ID, info.Status))
		}
	}
	s.seen.mu.Lock()
	ids := make(map[string]uint32, len(s.seen.hostUIDs))
	for id, uid := range s.seen.hostUIDs {
		ids[id] = uid
	}
	parents := make([]string, 0, len(s.seen.parents))
	for p := range s.seen.parents {
		parents = append(parents, p)
	}
	s.seen.mu.Unlock()
	for id, uid := range ids {
		if live[id] {
			continue
		}
		for _, l := range d.Leftovers(ctx, id) {
			out = append(out, fmt.Sprintf("sandbox %s: driver holds %s", id, l))
		}
		if owner, ok := claimOf(uid); ok && owner != s.RuntimeRoot()+"\n"+id {
			uid = 0 // the range went to another sandbox, maybe another server's: its processes are not ours
		}
		for _, l := range runtimetest.HostLeftovers(id, uid) {
			out = append(out, fmt.Sprintf("sandbox %s: host holds %s", id, l))
		}
	}
	// Whatever is not named after a sandbox the harness saw: pooled
	// sandboxes, creates that failed half-way.
	for _, p := range parents {
		children, _ := os.ReadDir(p)
		for _, c := range children {
			if c.IsDir() && !live[c.Name()] {
				out = append(out, "cgroup "+filepath.Join(p, c.Name()))
			}
		}
	}
	sbDir := filepath.Join(s.RuntimeRoot(), "sandboxes")
	for _, m := range mountsUnder(s.DataDir) {
		if id := childOf(sbDir, m); id == "" || !live[id] {
			out = append(out, "mount "+m)
		}
	}
	for _, l := range loopDevicesUnder(s.DataDir) {
		if id := childOf(sbDir, l.backing); id == "" || !live[id] {
			out = append(out, fmt.Sprintf("loop device %s on %s", l.dev, l.backing))
		}
	}
	for _, c := range slotClaims(s.RuntimeRoot()) {
		// The driver hands out a stale claim's range again after a grace
		// period, but the claim is its own record that the range is
		// taken (Leftovers reports it too): an ended sandbox keeps none.
		if !live[c.id] {
			out = append(out, fmt.Sprintf("uid range %s claimed for sandbox %s", c.file, c.id))
		}
	}
	netns, _ := os.ReadDir("/run/netns")
	for _, n := range netns {
		for id := range ids {
			if strings.Contains(n.Name(), id) && !live[id] {
				out = append(out, "network namespace /run/netns/"+n.Name())
			}
		}
	}
	out = append(out, s.strayFiles(live)...)
	sort.Strings(out)
	return out
}

// strayFiles lists files under the data dir that neither the server's
// own state nor a live sandbox explains.
func (s *Server) strayFiles(live map[string]bool) []string {
	var out []string
	known := map[string]bool{
		"soulbox.db": true, "soulbox.db-wal": true, "soulbox.db-shm": true, "admin.key": true,
		// The keys that sign access tokens and the audit chain, and the
		// one teams' secret values are sealed under.
		"token.key": true, "audit.key": true, "secrets.key": true,
		"runtime": true, "runtime/bin": true, "runtime/bin/soulbox-agent": true, "runtime/sandboxes": true,
		"checkpoints": true,
		// Where checkpoints are archived for object storage and fetched
		// from it, emptied at start.
		"checkpoints-transfers": true,
		// The template catalog's store of uploaded build files: the
		// directory is the server's; a file in it, no suite's.
		"template-files": true,
	}
	_ = filepath.WalkDir(s.DataDir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(s.DataDir, p)
		parts := strings.Split(rel, string(filepath.Separator))
		switch {
		case rel == "." || known[rel]:
			return nil
		case len(parts) >= 3 && parts[0] == "runtime" && parts[1] == "sandboxes" && live[parts[2]]:
			return filepath.SkipDir // a live sandbox's own files
		case len(parts) >= 2 && parts[0] == "checkpoints" && live[parts[1]]:
			return filepath.SkipDir // a paused sandbox's checkpoint
		case rel == "layers":
			return filepath.SkipDir // the layers of the templates the store records
		case rel == "node-ca":
			return filepath.SkipDir // the CA that signs joined nodes' certificates, made at start
		case rel == filepath.Join("runtime", "disks"):
			return filepath.SkipDir // the driver's blank disk images, one per size
		case len(parts) == 2 && parts[0] == "runtime" && runtimeState(parts[1]):
			return nil // the runtime's --root
		case len(parts) >= 3 && parts[0] == "runtime" && runtimeState(parts[1]) && live[parts[2]]:
			return filepath.SkipDir
		}
		out = append(out, "file "+p)
		if e.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

func runtimeState(name string) bool { return name == "runc" || name == "crun" || name == "runsc" }

// childOf returns the first path component of p below dir, or "".
func childOf(dir, p string) string {
	rest, ok := strings.CutPrefix(p, dir+"/")
	if !ok {
		return ""
	}
	return strings.SplitN(rest, "/", 2)[0]
}

func mountsUnder(dir string) []string {
	out, err := mountinfo.Under(dir)
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	return out
}

type loopDevice struct{ dev, backing string }

func loopDevicesUnder(dir string) []loopDevice {
	entries, _ := os.ReadDir("/sys/block")
	var out []loopDevice
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		b, err := os.ReadFile("/sys/block/" + e.Name() + "/loop/backing_file")
		if err != nil {
			continue
		}
		backing := strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
		if strings.HasPrefix(backing, dir+"/") {
			out = append(out, loopDevice{"/dev/" + e.Name(), backing})
		}
	}
	return out
}

type claim struct{ file, id string }

// slotClaims lists the uid range claims a driver rooted at root holds.
func slotClaims(root string) []claim {
	entries, _ := os.ReadDir(slotDir)
	var out []claim
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(slotDir, e.Name()))
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) >= 2 && lines[0] == root {
			out = append(out, claim{e.Name(), lines[1]})
		}
	}
	return out
}

// ProcessesUnder lists live processes in the cgroups the harness saw its
// sandboxes under, other than those of live sandboxes.
func (s *Server) ProcessesUnder(live map[string]bool) []string {
	s.seen.mu.Lock()
	var names []string
	for p := range s.seen.parents {
		names = append(names, "/"+filepath.Base(p)+"/")
	}
	s.seen.mu.Unlock()
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil || strings.Contains(string(st), "\nState:\tZ") {
			continue // gone, or dead and waiting for its parent
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, n := range names {
				if i := strings.Index(line, n); i >= 0 {
					id := strings.SplitN(line[i+len(n):], "/", 2)[0]
					if !live[id] {
						out = append(out, fmt.Sprintf("process %s in cgroup %s", e.Name(), line))
						break
					}
				}
			}
		}
	}
	return out
}

// CgroupParents lists the cgroup directories the server's sandboxes were
// seen under.
func (s *Server) CgroupParents() []string {
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	var out []string
	for p := range s.seen.parents {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// claimOf returns the owner ("<driver root>\n<sandbox id>") of the uid
// range starting at uid, if it is claimed.
func claimOf(uid uint32) (string, bool) {
	b, err := os.ReadFile(filepath.Join(slotDir, strconv.FormatUint(uint64(uid), 10)))
	if err != nil {
		return "", false
	}
	return strings.TrimRight(string(b), "\n"), true
}
