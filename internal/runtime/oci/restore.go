package oci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

// inheritFDBase is the first fd at which restore hands CRIU the reopened
// external files: runc gives CRIU its own socket as fd 3, and fds kept
// clear of the low numbers survive runc on their way to CRIU.
const inheritFDBase = 10

// Restore brings a checkpointed sandbox back from dir: the same processes
// with the same memory, open files and listening sockets, under the same
// id, on the same root filesystem, with its cgroups (and the child cgroup
// of its user processes) made again. The checkpoint stays in dir.
//
// runc restores the namespaces config.json asks for: a namespace given
// there by path (a network namespace the host prepared) is joined, one
// without a path is created and filled from the images.
func (d *Driver) Restore(ctx context.Context, id, dir string) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("checkpoint directory %q must be an absolute path: %w", dir, errdefs.ErrInvalidArgument)
	}
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	if _, err := d.checkpointable(st); err != nil {
		return err
	}
	status, _, err := d.status(ctx, st)
	if err != nil {
		return err
	}
	if status != runtime.StatusStopped {
		return fmt.Errorf("sandbox %q is %s, restore needs it checkpointed (stopped): %w", id, status, errdefs.ErrFailedPrecondition)
	}
	meta, err := readCheckpoint(filepath.Clean(dir))
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := meta.validate(id, st.Runtime); err != nil {
		return fmt.Errorf("checkpoint %s is not usable: %w", dir, err)
	}
	// Restore reopens these files and lends them to the sandbox's root:
	// only the sandbox's own, whatever the description says.
	for _, ef := range meta.External {
		if !d.ownsHostPath(id, filepath.Clean(ef.Path)) || ef.Path != filepath.Clean(ef.Path) {
			return fmt.Errorf("checkpoint %s names %s, which is not the sandbox's: %w", dir, ef.Path, errdefs.ErrInvalidArgument)
		}
	}
	if !d.rootfsMounted(id) {
		return fmt.Errorf("sandbox %q: its root filesystem is not mounted (the host restarted?): %w", id, errdefs.ErrFailedPrecondition)
	}
	return d.restore(ctx, st, filepath.Clean(dir), meta)
}

// restore runs `runc restore` from dir. On failure nothing of the attempt
// is left running and the sandbox stays stopped, its checkpoint intact.
// opts are further CRIU options.
func (d *Driver) restore(ctx context.Context, st sandboxState, dir string, meta checkpointMeta, opts ...string) (err error) {
	id := st.ID
	if st.Runtime == "runsc" {
		return d.restoreRunsc(ctx, st, dir)
	}
	criu, err := criuBinary()
	if err != nil {
		return err
	}
	// What the checkpoint left of the container: runc's record, cgroups.
	d.releaseStopped(ctx, st)
	d.parentMu.RLock()
	defer d.parentMu.RUnlock()
	defer func() {
		if err != nil {
			d.releaseStopped(context.WithoutCancel(ctx), st)
			if kerr := d.killCgroup(id); kerr != nil {
				d.log.Error("clean up after failed restore", logx.Sandbox(id), logx.Err(kerr))
			}
			_ = d.cgroups.remove(id)
		}
	}()
	// The child cgroup with its limits, before CRIU puts the user
	// processes back into it and the agent's files are reopened on it.
	userFiles, _, err := d.prepareUserCgroup(id, st.Runtime, st.Limits, d.configUserControllers(id))
	if err != nil {
		return fmt.Errorf("sandbox %q: restore: %w", id, err)
	}
	closeFiles(userFiles)
	extra, inherit, err := reopen(meta.External, inheritFDBase)
	if err != nil {
		return fmt.Errorf("sandbox %q: restore: %w", id, err)
	}
	defer closeFiles(extra)
	// CRIU opens each handed-in file again, through /proc/self/fd, as the
	// sandbox's root: for the length of the restore the files are the
	// sandbox root's, then the host's again. The files opened stay open.
	giveBack, err := lendFiles(meta.External, int(st.HostUID))
	defer giveBack()
	if err != nil {
		return fmt.Errorf("sandbox %q: restore: %w", id, err)
	}
	script, err := d.writeLoopbackScript(id)
	if err != nil {
		return fmt.Errorf("sandbox %q: restore: %w", id, err)
	}
	opts = append(opts, networkLockOption(meta.NetworkLock)...)
	if err := d.writeCRIUConfig(id, append(append(inherit, "action-script "+script, d.cgroupYardOption()), opts...)); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	work := filepath.Join(d.sandboxDir(id), "criu-work")
	_ = os.RemoveAll(work)
	if err := os.Mkdir(work, 0o700); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	defer os.RemoveAll(work)
	// CRIU reads the images both as the host's root and, from inside
	// the sandbox's user namespace, as the sandbox's root: they are the
	// host root's and readable by the sandbox root's group, no one else's.
	if err := shareTree(filepath.Join(dir, "images"), int(st.HostUID)); err != nil {
		return fmt.Errorf("sandbox %q: restore: %w", id, err)
	}
	cmd := d.criuCmd(ctx, st.Runtime, criu, "restore", "--detach",
		"--bundle", d.sandboxDir(id), "--image-path", filepath.Join(dir, "images"), "--work-path", work,
		"--pid-file", filepath.Join(d.sandboxDir(id), "init.pid"),
		"--manage-cgroups-mode", "soft", "--tcp-established", "--file-locks", id)
	cmd.ExtraFiles = extra
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sandbox %q: %w (CRIU: %s): %w", id, runtimeError(st.Runtime, []string{"restore"}, err, out.String()),
			criuErrors(filepath.Join(work, "restore.log"), 3), errdefs.ErrUnavailable)
	}
	status, _, err := d.status(ctx, st)
	if err != nil {
		return err
	}
	if status != runtime.StatusRunning {
		return fmt.Errorf("sandbox %q is %s right after restore: %w", id, status, errdefs.ErrUnavailable)
	}
	if err := d.reattachNetwork(ctx, st); err != nil {
		return err
	}
	st.Restored = true
	if err := d.writeState(st); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	return nil
}

// rootfsMounted reports whether the sandbox's root filesystem is mounted.
func (d *Driver) rootfsMounted(id string) bool {
	mounts, err := mountsUnder(d.rootfsDir(id))
	if err != nil {
		return false
	}
	for _, m := range mounts {
		if m == d.rootfsDir(id) {
			return true
		}
	}
	return false
}

// shareTree makes everything under root the host root's with group gid,
// which may read it (and search the directories); others get nothing.
func shareTree(root string, gid int) error {
	return filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o640)
		if e.IsDir() {
			mode = 0o750
		}
		if err := os.Lchown(p, 0, gid); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	})
}

// lendFiles makes the files uid's and returns what gives them back to
// their owners.
func lendFiles(files []externalFile, uid int) (giveBack func(), err error) {
	type owner struct {
		path     string
		uid, gid int
	}
	var lent []owner
	giveBack = func() {
		for _, o := range lent {
			_ = os.Lchown(o.path, o.uid, o.gid)
		}
	}
	for _, f := range files {
		var st unix.Stat_t
		if err := unix.Lstat(f.Path, &st); err != nil {
			return giveBack, fmt.Errorf("lend %s: %w", f.Path, err)
		}
		if err := os.Lchown(f.Path, uid, uid); err != nil {
			return giveBack, fmt.Errorf("lend %s: %w", f.Path, err)
		}
		lent = append(lent, owner{f.Path, int(st.Uid), int(st.Gid)})
	}
	return giveBack, nil
}
