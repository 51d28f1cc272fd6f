package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Cloner = (*Driver)(nil)

var _ runtime.ProcessCloner = (*Driver)(nil)

// A clone checkpoint directory holds, besides a checkpoint's images/ and
// checkpoint.json (with the source's host uid), upper/: a copy of the
// source's writable layer taken while its processes were held still. One
// made by CheckpointCloneProcesses has no upper/: its files are the top
// layer of the template a restore is given.
const cloneUpper = "upper"

// CheckpointClone saves running (or paused) sandbox id's processes,
// memory, open files and writable layer into dir, from which RestoreClone
// makes new sandboxes; the sandbox is held still meanwhile and runs on
// afterwards as it was. dir must not exist; it appears only complete.
// Errors as Checkpoint's; a sandbox restored from a checkpoint cannot be
// saved (see Checkpoint).
func (d *Driver) CheckpointClone(ctx context.Context, id, dir string) error {
	return d.checkpointClone(ctx, id, dir, true)
}

// CheckpointCloneProcesses saves what CheckpointClone does but the
// writable layer, which the caller keeps as a layer of its own while the
// sandbox is held still (a snapshot): RestoreClone of dir must be given a
// template whose top layer is that copy, and the files are stored once.
func (d *Driver) CheckpointCloneProcesses(ctx context.Context, id, dir string) error {
	return d.checkpointClone(ctx, id, dir, false)
}

func (d *Driver) checkpointClone(ctx context.Context, id, dir string, withFiles bool) (err error) {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("checkpoint directory %q must be an absolute path: %w", dir, errdefs.ErrInvalidArgument)
	}
	dir = filepath.Clean(dir)
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	criu, err := d.checkpointable(st)
	if err != nil {
		return err
	}
	if st.Runtime != "runc" {
		return fmt.Errorf("sandbox %q: clones are made of runc sandboxes only: %w", id, errdefs.ErrFailedPrecondition)
	}
	partial, status, err := d.startCheckpoint(ctx, st, id, dir, "a clone checkpoint")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(partial)
		}
	}()
	// Held still, so that the files and the memory are of one moment.
	if status == runtime.StatusRunning {
		if _, err := d.runRuntime(ctx, st.Runtime, "pause", id); err != nil {
			return fmt.Errorf("sandbox %q: hold it still: %w", id, err)
		}
		defer func() {
			if _, rerr := d.runRuntime(context.WithoutCancel(ctx), st.Runtime, "resume", id); rerr != nil {
				d.log.Error("thaw a sandbox after its clone checkpoint", logx.Sandbox(id), logx.Err(rerr))
			}
		}()
	}
	if withFiles {
		if err := durable.SyncFS(d.diskDir(id)); err != nil {
			return fmt.Errorf("sandbox %q: sync writable layer: %w", id, err)
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto",
			filepath.Join(d.diskDir(id), "upper")+"/.", filepath.Join(partial, cloneUpper)).CombinedOutput(); err != nil {
			return fmt.Errorf("sandbox %q: copy writable layer: %v: %s", id, err, strings.TrimSpace(string(out)))
		}
	}
	ext, err := d.externalFiles(id, d.cgroupProcs(id))
	if err != nil {
		return fmt.Errorf("sandbox %q: checkpoint: %w: %w", id, err, errdefs.ErrFailedPrecondition)
	}
	lock := criuNetworkLock(criu)
	if err := d.writeCRIUConfig(id, append(dumpOptions(ext, lock), d.cgroupYardOption())); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	work := filepath.Join(d.sandboxDir(id), "criu-work")
	_ = os.RemoveAll(work)
	if err := os.Mkdir(work, 0o700); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	defer os.RemoveAll(work)
	// Not cancelled with ctx, as Checkpoint.
	args := []string{"checkpoint", "--image-path", filepath.Join(partial, "images"), "--work-path", work, "--leave-running",
		"--manage-cgroups-mode", "soft", "--tcp-established", "--file-locks", id}
	if _, err := runCmd(d.criuCmd(context.WithoutCancel(ctx), st.Runtime, criu, args...), st.Runtime, args); err != nil {
		return d.dumpFailed(st, err, filepath.Join(work, "dump.log"))
	}
	// Its sandbox directory and cgroup parent, so that another node
	// restores it too (a snapshot in object storage; mapMovedPaths).
	meta := checkpointMeta{Sandbox: id, Runtime: st.Runtime, CreatedAt: time.Now().UTC(), External: ext, HostUID: st.HostUID, NetworkLock: lock,
		TemplateLayers: st.TemplateLayers, SourceDir: d.sandboxDir(id), SourceCgroupParent: d.cgroups.parent}
	return d.sealCheckpoint(partial, dir, meta)
}

// RestoreClone creates sandbox spec.ID as Create does and brings back in
// it what CheckpointClone saved in dir: the source's files, and its
// processes with their memory and open files, under the new sandbox's
// host uids, network and host name. The processes still hold what they
// held (the agent its access token). dir is kept. On failure the new
// sandbox is destroyed. A dir without the files
// (CheckpointCloneProcesses) is restored on spec.Template's layers as
// they are, the files being its top layer, under an empty writable
// layer. A spec naming no layers gets the source's, as its create named
// them (sandboxState.TemplateLayers).
func (d *Driver) RestoreClone(ctx context.Context, spec runtime.Spec, dir string) (err error) {
	dir = filepath.Clean(dir)
	meta, err := readCheckpoint(dir)
	if err != nil {
		return err
	}
	if err := meta.validate(meta.Sandbox, "runc"); err != nil {
		return fmt.Errorf("checkpoint %s is not usable: %w", dir, err)
	}
	if meta.HostUID == 0 {
		return fmt.Errorf("checkpoint %s was not made for clones: %w", dir, errdefs.ErrInvalidArgument)
	}
	d.mapMovedPaths(&meta)
	for _, ef := range meta.External {
		if !d.ownsHostPath(meta.Sandbox, ef.Path) {
			return fmt.Errorf("checkpoint %s names %s, which is not its sandbox's: %w", dir, ef.Path, errdefs.ErrInvalidArgument)
		}
	}
	spec.Runtime = "runc"
	if meta.SourceDir != "" {
		// Made on another node: its layers without the archives it
		// names for them (move.go).
		spec.Layers = movedLayers(meta.TemplateLayers, spec.Layers)
	} else if len(spec.Layers) == 0 {
		// The source's layers, as its create named them.
		spec.Layers = meta.TemplateLayers
	}
	// The files first, moved to the clone's ids, into its writable layer
	// before its overlay is mounted on it (writing beneath a mounted
	// overlay is undefined); the clone's own host name and hosts file are
	// written over them.
	seed := func(upper string, hostUID uint32) error {
		if _, err := os.Stat(filepath.Join(dir, cloneUpper)); errors.Is(err, os.ErrNotExist) {
			return nil // the files are the template's top layer
		}
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", filepath.Join(dir, cloneUpper)+"/.", upper).CombinedOutput(); err != nil {
			return fmt.Errorf("copy the writable layer: %v: %s", err, strings.TrimSpace(string(out)))
		}
		if err := shiftOwners(upper, meta.HostUID, hostUID, meta.SourceDir != ""); err != nil {
			return err
		}
		return seedIdentityFree(upper)
	}
	if _, err := d.create(ctx, spec, seed); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if derr := d.Destroy(context.WithoutCancel(ctx), spec.ID); derr != nil {
				d.log.Error("destroy a clone that failed", logx.Sandbox(spec.ID), logx.Err(derr))
			}
		}
	}()
	unlock := d.lock(spec.ID)
	defer unlock()
	st, err := d.readState(spec.ID)
	if err != nil {
		return err
	}
	// The images, made the clone's.
	images := filepath.Join(d.sandboxDir(spec.ID), "clone")
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", dir+"/.", images).CombinedOutput(); err != nil {
		return fmt.Errorf("sandbox %q: copy the images: %v: %s", spec.ID, err, strings.TrimSpace(string(out)))
	}
	defer os.RemoveAll(images)
	_ = os.RemoveAll(filepath.Join(images, cloneUpper))
	if err := shiftUserns(filepath.Join(images, "images"), meta.HostUID, st.HostUID); err != nil {
		return fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	if err := renameUTS(filepath.Join(images, "images"), spec.ID); err != nil {
		return fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	src := meta.Sandbox
	meta.Sandbox = spec.ID
	for i := range meta.External {
		parts := strings.Split(meta.External[i].Path, "/")
		for j, p := range parts {
			if p == src {
				parts[j] = spec.ID
			}
		}
		meta.External[i].Path = strings.Join(parts, "/")
		if !d.ownsHostPath(spec.ID, meta.External[i].Path) {
			return fmt.Errorf("sandbox %q: %s is not the clone's: %w", spec.ID, meta.External[i].Path, errdefs.ErrInvalidArgument)
		}
	}
	// Connections established at the checkpoint belong to the source's
	// addresses, which the clone's network does not have: they come back
	// closed, as after a network failure.
	return d.restore(ctx, st, images, meta, "tcp-close")
}

// seedIdentityFree removes /etc/hostname and /etc/hosts (or their
// whiteouts) from a seeded writable layer, so that the sandbox's own are
// written in their place through the overlay. An /etc in the layer that
// is not a plain directory (a link the source made) is refused: the
// identity is written by the host, which must not follow it.
func seedIdentityFree(upper string) error {
	etc := filepath.Join(upper, "etc")
	fi, err := os.Lstat(etc)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("its /etc is not a directory: %w", errdefs.ErrFailedPrecondition)
	}
	for _, name := range []string{"hostname", "hosts"} {
		if err := os.RemoveAll(filepath.Join(etc, name)); err != nil {
			return fmt.Errorf("replace /etc/%s: %w", name, err)
		}
	}
	return nil
}

// shiftOwners moves the owners of everything under root from the id range
// of host uid from to that of host uid to; other owners are kept, unless
// squash: the files of a pack made on another node (move.go) may name
// any host id, and one outside the sandbox's range becomes host root
// (unmapped in every sandbox, as a file the host wrote there, such as
// /etc/resolv.conf, already is) without its set-id bits, rather than
// keep a host id this node may give another sandbox.
func shiftOwners(root string, from, to uint32, squash bool) error {
	return filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		foreign := false
		move := func(id uint32) int {
			if id >= from && id-from < idRange {
				return int(id - from + to)
			}
			if squash {
				foreign = true
				return 0
			}
			return int(id)
		}
		uid, gid := move(st.Uid), move(st.Gid)
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("shift the owner of %s: %w", p, err)
		}
		// chown clears set-id bits; give them back, but not to a file
		// whose foreign owner was squashed.
		if st.Mode&unix.S_IFMT == unix.S_IFLNK || st.Mode&(unix.S_ISUID|unix.S_ISGID) == 0 {
			return nil
		}
		bits := modeBits(st.Mode)
		if foreign {
			bits &^= os.ModeSetuid | os.ModeSetgid
		}
		return os.Chmod(p, os.FileMode(st.Mode&0o777)|bits)
	})
}

func modeBits(m uint32) os.FileMode {
	var out os.FileMode
	if m&unix.S_ISUID != 0 {
		out |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		out |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		out |= os.ModeSticky
	}
	return out
}
