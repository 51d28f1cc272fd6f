package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Prioritizer = (*Driver)(nil)

// SetNiceness sets the niceness of every thread in the sandbox: niceness
// is per thread in Linux, and a thread made later takes its creator's.
// The sandbox's threads are those of its pids cgroup and of the cgroups
// below it: the "user" child holds every process but the agent, and an
// agent thread moves there for a moment to start one (usercgroup.go).
// Two passes catch threads made, or moved, during the first.
func (d *Driver) SetNiceness(ctx context.Context, id string, niceness int) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if niceness < 0 || niceness > 19 {
		return fmt.Errorf("niceness %d: use 0 to 19: %w", niceness, errdefs.ErrInvalidArgument)
	}
	if _, err := d.readState(id); err != nil {
		return err
	}
	// cgroup v1's tasks and v2's cgroup.threads list threads, not only
	// processes.
	file := "tasks"
	if d.cgroups.unified {
		file = "cgroup.threads"
	}
	root := d.cgroups.dir("pids", id)
	for pass := 0; pass < 2; pass++ {
		var tids []string
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				// A child cgroup removed meanwhile holds no thread.
				if path != root && errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !e.IsDir() {
				return nil
			}
			b, err := os.ReadFile(filepath.Join(path, file))
			if err != nil {
				if path != root && errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			tids = append(tids, strings.Fields(string(b))...)
			return nil
		})
		if err != nil {
			return fmt.Errorf("sandbox %q: list its threads: %w", id, err)
		}
		for _, f := range tids {
			tid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			// A thread that ended meanwhile is no error.
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, niceness); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("sandbox %q: set niceness of thread %d: %w", id, tid, err)
			}
		}
	}
	return nil
}
