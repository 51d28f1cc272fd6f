package template

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// debootstrap mounts /proc and /sys (and in some containers binds /dev
// nodes) inside the target. It unmounts them when it exits normally, but a
// killed debootstrap, or a build step that mounts for itself, can leave them
// behind, and removing a tree with /dev bound into it would delete host
// device nodes. So every removal and every finished build goes through here.

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	points, err := parseMountinfo(f)
	if err != nil {
		return nil, err
	}
	// mountinfo shows resolved paths; dir may contain a symlink.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	dir = filepath.Clean(dir)
	var out []string
	for _, p := range points {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	// Deeper paths first, so a mount goes before the one it sits on.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out), nil
}

// parseMountinfo returns the mount point field of every line of a
// /proc/<pid>/mountinfo table.
func parseMountinfo(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		out = append(out, unescapeMountinfo(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return out, nil
}

// unescapeMountinfo undoes the kernel's octal escaping (\040 for a space,
// \011, \012, \134) of paths in the mount table.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder lazily unmounts everything at or below dir. Lazy, because a
// straggling process may still hold a mount busy; detaching it still takes
// it out of the tree, which is what removal needs.
func unmountUnder(dir string) error {
	// Mounts can be stacked on one point; a few rounds peel them all.
	for range 8 {
		points, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			err := unix.Unmount(p, unix.MNT_DETACH)
			if err != nil && err != unix.EINVAL && err != unix.ENOENT {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(points) > 0 {
		return fmt.Errorf("still mounted under %s: %s", dir, strings.Join(points, ", "))
	}
	return nil
}
