package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/mountinfo"
)

// cgroupNameRE is what a configured cgroup parent may be called.
var cgroupNameRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$`)

// ValidCgroupParent says what is wrong with a Config.CgroupParent, or nil.
func ValidCgroupParent(name string) error {
	if !cgroupNameRE.MatchString(name) {
		return fmt.Errorf("cgroup parent %q: want one name of up to 64 letters, digits, '-', '_' and '.', not starting with '.': %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// cgroupParentFor names the cgroup every sandbox of the driver rooted at
// root is created under: "soulbox-" and a hash of the root. Two drivers on
// one host (two servers, or tests beside a server) then never take each
// other's sandboxes for leftovers of their own.
func cgroupParentFor(root string) string {
	sum := sha256.Sum256([]byte(root))
	return "soulbox-" + hex.EncodeToString(sum[:4])
}

// cgroupLayout is how the host mounts its cgroup hierarchies.
type cgroupLayout struct {
	// parent is the cgroup the driver's sandboxes are created under.
	parent string
	// unified is true on a pure cgroup v2 host.
	unified bool
	// mounts maps each v1 controller (and "" for the v2 hierarchy, which a
	// hybrid host also has) to its mount point.
	mounts map[string]string
}

// cgroupRoot is where the host mounts its cgroup hierarchies.
const cgroupRoot = "/sys/fs/cgroup"

// detectCgroups reads the host's cgroup mounts. Only those under
// cgroupRoot count: a hierarchy mounted again elsewhere for a while (CRIU
// does so under its work directory unless given a yard) is not the host's.
func detectCgroups(parent string) (cgroupLayout, error) {
	l := cgroupLayout{parent: parent, mounts: map[string]string{}}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return l, fmt.Errorf("read cgroup layout: %w", err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		l.unified = true
		l.mounts[""] = cgroupRoot
		return l, nil
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return l, fmt.Errorf("read cgroup layout: %w", err)
	}
	for _, m := range mounts {
		if !strings.HasPrefix(m.Point, cgroupRoot+"/") {
			continue
		}
		switch m.FSType {
		case "cgroup2":
			l.mounts[""] = m.Point
		case "cgroup":
			for _, opt := range m.SuperOptions {
				switch opt {
				case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
					"net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc":
					l.mounts[opt] = m.Point
				default:
					if name, ok := strings.CutPrefix(opt, "name="); ok {
						l.mounts["name="+name] = m.Point
					}
				}
			}
		}
	}
	if l.mounts["memory"] == "" {
		return l, errors.New("read cgroup layout: no memory controller mounted")
	}
	return l, nil
}

// cgroupsPath is the path handed to the runtime in config.json.
func (l cgroupLayout) cgroupsPath(id string) string { return "/" + l.parent + "/" + id }

// dir is the sandbox's directory in the hierarchy holding controller
// (ignored on a unified host).
func (l cgroupLayout) dir(controller, id string) string {
	if l.unified {
		return filepath.Join(l.mounts[""], l.parent, id)
	}
	return filepath.Join(l.mounts[controller], l.parent, id)
}

// hierarchies lists every distinct mount point a sandbox cgroup may exist in.
func (l cgroupLayout) hierarchies() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range l.mounts {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// leftovers lists the sandbox ids that still have a cgroup in any hierarchy.
func (l cgroupLayout) leftovers() []string {
	seen := map[string]bool{}
	var ids []string
	for _, h := range l.hierarchies() {
		entries, _ := os.ReadDir(filepath.Join(h, l.parent))
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				ids = append(ids, e.Name())
			}
		}
	}
	return ids
}

// exists reports whether any cgroup of id is left in any hierarchy.
func (l cgroupLayout) exists(id string) bool {
	for _, h := range l.hierarchies() {
		if _, err := os.Stat(filepath.Join(h, l.parent, id)); err == nil {
			return true
		}
	}
	return false
}

// remove deletes the sandbox's cgroups in every hierarchy, children first.
// The runtime normally does this; remove covers a runtime that died or
// failed half-way. It fails if a cgroup still has processes.
func (l cgroupLayout) remove(id string) error {
	var errs []error
	for _, h := range l.hierarchies() {
		dir := filepath.Join(h, l.parent, id)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		// rmdir works only bottom-up; WalkDir gives top-down order.
		var dirs []string
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := unix.Rmdir(dirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// parentDirs lists the driver's parent cgroup in every hierarchy where it
// exists.
func (l cgroupLayout) parentDirs() []string {
	var out []string
	for _, h := range l.hierarchies() {
		if p := filepath.Join(h, l.parent); dirExists(p) {
			out = append(out, p)
		}
	}
	return out
}

// removeParent removes the driver's parent cgroup from every hierarchy
// where it holds no sandbox any more; where it still does, rmdir fails
// (EBUSY) and it stays.
func (l cgroupLayout) removeParent() error {
	var errs []error
	for _, p := range l.parentDirs() {
		err := unix.Rmdir(p)
		if err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// readUint reads a file holding one number; "max" reads as 0.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyed reads a "key value" per line file such as memory.stat.
func readKeyed(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
