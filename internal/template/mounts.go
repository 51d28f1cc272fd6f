package template

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/mountinfo"
)

// debootstrap mounts /proc and /sys (and in some containers binds /dev
// nodes) inside the target. It unmounts them when it exits normally, but a
// killed debootstrap, or a build step that mounts for itself, can leave them
// behind, and removing a tree with /dev bound into it would delete host
// device nodes. So every removal and every finished build goes through here.

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	// mountinfo shows resolved paths; dir may contain a symlink.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	out, err := mountinfo.Under(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	// Deeper paths first, so a mount goes before the one it sits on.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(out), nil
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
