package template

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/mountinfo"
)

// inUse reports whether some mount on this host shows a part of dir: a
// running sandbox mounts its template layers (idmapped bind mounts of
// them), and deleting a build out from under a sandbox would pull files
// out of its root filesystem. Builds in use are kept and swept once no
// sandbox mounts them.
//
// A bind mount's mountinfo line names the device and the path inside that
// device's filesystem ("root"), not the path it was mounted from; dir is
// therefore translated to the same terms: the device it is on, and its
// path relative to the root of that filesystem.
func inUse(dir string) (bool, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("stat %s: %w", dir, err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	mounts, err := mountinfo.Read()
	if err != nil {
		return false, err
	}
	type entry struct{ root, point string }
	var same []entry // mounts of dir's filesystem
	for _, m := range mounts {
		if m.Dev == dev {
			same = append(same, entry{m.Root, m.Point})
		}
	}
	// Where dir sits inside its filesystem: through the mount whose mount
	// point is the longest prefix of dir.
	var inFS string
	best := -1
	for _, e := range same {
		if (dir == e.point || strings.HasPrefix(dir, strings.TrimSuffix(e.point, "/")+"/")) && len(e.point) > best {
			best = len(e.point)
			inFS = filepath.Join(e.root, strings.TrimPrefix(dir, e.point))
		}
	}
	if best < 0 {
		return false, nil
	}
	for _, e := range same {
		if e.root == inFS || strings.HasPrefix(e.root, inFS+"/") {
			return true, nil
		}
	}
	return false, nil
}
