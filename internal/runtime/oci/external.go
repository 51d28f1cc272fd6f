package oci

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/mountinfo"
)

// externalFile is a file a sandbox's process holds open that lives outside
// the sandbox's mount namespace, so CRIU cannot save it by path: the
// agent's log (its stdout and stderr) and the cgroup `tasks` files of
// usercgroup.go. CRIU records it under Key only; on restore the driver
// opens Path again with Flags and hands it to CRIU, which puts it back
// at every fd that held it.
type externalFile struct {
	Key   string `json:"key"` // CRIU's file[mnt_id:inode], as at checkpoint
	Path  string `json:"path"`
	Flags int    `json:"flags"` // O_ACCMODE and O_APPEND of the open file
}

// externalFiles lists the files the sandbox's processes hold that lie on
// mounts their mount namespace does not have. Only paths under the
// sandbox's own directory or cgroups are accepted: anything else is a file
// restore could not honestly reopen, and checkpoint refuses it.
func (d *Driver) externalFiles(id string, pids []int) ([]externalFile, error) {
	if len(pids) == 0 {
		return nil, nil
	}
	inside, err := mountIDs(pids[0])
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []externalFile
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // exited meanwhile; CRIU will see the rest frozen
		}
		for _, e := range entries {
			target, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err != nil || !strings.HasPrefix(target, "/") {
				continue // sockets, pipes, anonymous inodes: CRIU saves those
			}
			mnt, flags, err := fdInfo(pid, e.Name())
			if err != nil || inside[mnt] {
				continue
			}
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
				continue
			}
			key := fmt.Sprintf("file[%x:%x]", mnt, st.Ino)
			if seen[key] {
				continue
			}
			seen[key] = true
			if !d.ownsHostPath(id, target) {
				return nil, fmt.Errorf("process %d holds %s, a host file outside the sandbox that cannot be saved", pid, target)
			}
			out = append(out, externalFile{Key: key, Path: target, Flags: flags & (unix.O_ACCMODE | unix.O_APPEND)})
		}
	}
	return out, nil
}

// ownsHostPath reports whether path is the sandbox's own: under its
// directory or its cgroups.
func (d *Driver) ownsHostPath(id, path string) bool {
	roots := []string{d.sandboxDir(id)}
	for _, h := range d.cgroups.hierarchies() {
		roots = append(roots, filepath.Join(h, d.cgroups.parent, id))
	}
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

// mountIDs returns the ids of the mounts in pid's mount namespace.
func mountIDs(pid int) (map[int]bool, error) {
	ms, err := mountinfo.ReadPid(pid)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's mounts: %w", err)
	}
	ids := map[int]bool{}
	for _, m := range ms {
		ids[m.ID] = true
	}
	return ids, nil
}

// fdInfo reads the mount id and the open flags of one fd.
func fdInfo(pid int, fd string) (mnt, flags int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd))
	if err != nil {
		return 0, 0, err
	}
	mnt, flags = -1, -1
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "mnt_id":
			mnt, err = strconv.Atoi(v)
		case "flags":
			var f int64
			f, err = strconv.ParseInt(v, 8, 64)
			flags = int(f)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("fdinfo %d/%s: %w", pid, fd, err)
		}
	}
	if mnt < 0 || flags < 0 {
		return 0, 0, fmt.Errorf("fdinfo %d/%s lacks mnt_id or flags", pid, fd)
	}
	return mnt, flags, nil
}

// reopen opens the external files again for a restore, at fds from
// firstFD on in the order given, and returns the files (nil entries pad
// the fds below firstFD) and CRIU's inherit-fd options for them.
func reopen(files []externalFile, firstFD int) (extra []*os.File, opts []string, err error) {
	extra = make([]*os.File, firstFD-3)
	for _, ef := range files {
		f, err := os.OpenFile(ef.Path, ef.Flags&^unix.O_CREAT, 0)
		if err != nil {
			closeFiles(extra)
			return nil, nil, fmt.Errorf("reopen %s: %w", ef.Path, err)
		}
		opts = append(opts, fmt.Sprintf("inherit-fd fd[%d]:%s", 3+len(extra), ef.Key))
		extra = append(extra, f)
	}
	return extra, opts, nil
}
