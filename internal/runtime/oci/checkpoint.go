package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Checkpointer = (*Driver)(nil)

// A checkpoint directory holds:
//
//	images/          CRIU's images: memory, processes, open files, sockets,
//	                 the sandbox's tmpfs mounts and namespaces
//	checkpoint.json  what restore needs besides (checkpointMeta); written
//	                 last, before the directory gets its name
//
// The writable layer is not copied: it is the sandbox's disk image, kept
// (and synced) in the sandbox's directory, and restore runs on it again.
const checkpointMetaFile = "checkpoint.json"

// checkpointMeta describes a complete checkpoint.
type checkpointMeta struct {
	Sandbox   string         `json:"sandbox"`
	Runtime   string         `json:"runtime"`
	CreatedAt time.Time      `json:"createdAt"`
	External  []externalFile `json:"external,omitempty"`
	// HostUID is the source's host uid, in a checkpoint for clones (see
	// clone.go), whose restore moves the ids to the clone's.
	HostUID uint32 `json:"hostUID,omitempty"`
	// NetworkLock is how CRIU locked the sandbox's network for the dump
	// (criuNetworkLock; empty: iptables, CRIU's default, as before the
	// field): the restore lifts the lock the same way.
	NetworkLock string `json:"networkLock,omitempty"`
	// TemplateLayers are the source's sandboxState.TemplateLayers, in a
	// checkpoint for clones: a clone whose Spec names no layers is made
	// on them, as a node that knows the template only by its layers
	// must.
	TemplateLayers []runtime.TemplateLayer `json:"templateLayers,omitempty"`
	// SourceDir and SourceCgroupParent are the source node's sandbox
	// directory and cgroup parent, in a pack moved to another node
	// (move.go): the external files' paths name them, and the restore
	// maps them to its own.
	SourceDir          string `json:"sourceDir,omitempty"`
	SourceCgroupParent string `json:"sourceCgroupParent,omitempty"`
}

// Checkpoint saves the running (or paused) sandbox's processes, memory,
// open files and sockets to dir and stops it: its processes end and its
// cgroups, with the memory charged to them, are released. Its root
// filesystem stays, synced to disk, for Restore.
//
// dir must not exist; it appears only complete. The images are written to
// a sibling dir+".partial" (removed first if a crash left one), synced and
// renamed, so a half-written checkpoint is never taken for a good one. If
// the checkpoint fails, the sandbox keeps running; if it fails after its
// processes were saved and ended, they are restored from what was written.
func (d *Driver) Checkpoint(ctx context.Context, id, dir string) (err error) {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("checkpoint directory %q must be an absolute path: %w", dir, errdefs.ErrInvalidArgument)
	}
	dir = filepath.Clean(dir)
	unlock := d.lock(id)
	defer unlock()
	// A paused sandbox holds no namespace open for dials.
	defer d.dials.forget(id)
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	criu, err := d.checkpointable(st)
	if err != nil {
		return err
	}
	partial, _, err := d.startCheckpoint(ctx, st, id, dir, "checkpoint")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(partial)
		}
	}()

	var ext []externalFile
	var lock string
	if st.Runtime == "runc" {
		if ext, err = d.externalFiles(id, d.cgroupProcs(id)); err != nil {
			return fmt.Errorf("sandbox %q: checkpoint: %w: %w", id, err, errdefs.ErrFailedPrecondition)
		}
		lock = criuNetworkLock(criu)
		if err := d.writeCRIUConfig(id, append(dumpOptions(ext, lock), d.cgroupYardOption())); err != nil {
			return fmt.Errorf("sandbox %q: %w", id, err)
		}
	}
	// The writable layer must be on disk before the processes that wrote
	// it are gone for good.
	if err := durable.SyncFS(d.diskDir(id)); err != nil {
		return fmt.Errorf("sandbox %q: sync writable layer: %w", id, err)
	}
	work := filepath.Join(d.sandboxDir(id), "criu-work")
	_ = os.RemoveAll(work)
	if err := os.Mkdir(work, 0o700); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	defer os.RemoveAll(work)
	images := filepath.Join(partial, "images")
	meta := checkpointMeta{Sandbox: id, Runtime: st.Runtime, CreatedAt: time.Now().UTC(), External: ext, NetworkLock: lock}
	// Not cancelled with ctx: CRIU killed half-way through a dump could
	// leave the sandbox's processes frozen with no one to thaw them.
	args := []string{"checkpoint", "--image-path", images, id}
	if st.Runtime == "runc" {
		args = []string{"checkpoint", "--image-path", images, "--work-path", work,
			"--manage-cgroups-mode", "soft", "--tcp-established", "--file-locks", id}
	}
	if _, err := runCmd(d.criuCmd(context.WithoutCancel(ctx), st.Runtime, criu, args...), st.Runtime, args); err != nil {
		// CRIU's own words are in its log, not in runc's message.
		err = d.dumpFailed(st, err, filepath.Join(work, "dump.log"))
		if now, _, serr := d.status(ctx, st); serr == nil && (now == runtime.StatusRunning || now == runtime.StatusPaused) {
			return err // CRIU let the processes run on
		}
		return d.bringBack(ctx, st, partial, meta, err)
	}
	// From here the sandbox's processes are gone: a failure must bring
	// them back from the images rather than lose them.
	if err := d.sealCheckpoint(partial, dir, meta); err != nil {
		return d.bringBack(ctx, st, partial, meta, fmt.Errorf("sandbox %q: keep checkpoint: %w", id, err))
	}
	d.releaseStopped(ctx, st)
	return nil
}

// bringBack restores a sandbox whose checkpoint failed after its processes
// were saved and ended, from the images written so far; cause is why the
// checkpoint failed, which it returns either way.
func (d *Driver) bringBack(ctx context.Context, st sandboxState, partial string, meta checkpointMeta, cause error) error {
	ctx = context.WithoutCancel(ctx)
	if rerr := d.restore(ctx, st, partial, meta); rerr != nil {
		d.log.Error("checkpoint failed and its sandbox could not be restored", logx.Sandbox(st.ID), logx.Err(cause), "restore_err", rerr)
		return fmt.Errorf("%w; restoring it failed too, it is stopped: %w", cause, rerr)
	}
	return fmt.Errorf("%w (the sandbox was restored and runs on)", cause)
}

// checkpointable returns the CRIU to use (none for runsc, which saves the
// sandbox from inside its Sentry), or why the sandbox cannot be
// checkpointed.
func (d *Driver) checkpointable(st sandboxState) (string, error) {
	switch st.Runtime {
	case "runsc":
		return "", nil
	case "runc":
	default:
		return "", fmt.Errorf("sandbox %q: checkpoint is supported for runc and runsc sandboxes, not %s: %w", st.ID, st.Runtime, errdefs.ErrFailedPrecondition)
	}
	var cfg struct {
		Annotations map[string]string `json:"annotations"`
	}
	b, err := os.ReadFile(filepath.Join(d.sandboxDir(st.ID), "config.json"))
	if err != nil {
		return "", fmt.Errorf("sandbox %q: read config: %w", st.ID, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("sandbox %q: read config: %w", st.ID, err)
	}
	if cfg.Annotations[criuConfigAnnotation] != d.criuConfigPath(st.ID) {
		return "", fmt.Errorf("sandbox %q was created by a version without checkpoint support: %w", st.ID, errdefs.ErrFailedPrecondition)
	}
	return criuBinary()
}

// dumpOptions are the CRIU options of a checkpoint beyond runc's flags;
// lock is the network lock method (criuNetworkLock).
func dumpOptions(ext []externalFile, lock string) []string {
	opts := []string{
		// Files deleted while open (a tool's temporary files) are saved
		// with the images up to this size each.
		"ghost-limit 64M",
	}
	for _, e := range ext {
		opts = append(opts, "external "+e.Key)
	}
	return append(opts, networkLockOption(lock)...)
}

// sealCheckpoint writes the checkpoint's description, syncs everything
// and gives the directory its final name.
func (d *Driver) sealCheckpoint(partial, dir string, meta checkpointMeta) error {
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(partial, checkpointMetaFile), b, 0o600); err != nil {
		return fmt.Errorf("write checkpoint description: %w", err)
	}
	if err := syncTree(partial); err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	if err := os.Rename(partial, dir); err != nil {
		return fmt.Errorf("name checkpoint: %w", err)
	}
	return durable.SyncDir(filepath.Dir(dir))
}

// releaseStopped deletes the runtime's record of a checkpointed container
// and its cgroups, so that the memory charged to them is released and a
// restore can create them again.
func (d *Driver) releaseStopped(ctx context.Context, st sandboxState) {
	if err := d.deleteContainer(ctx, st.Runtime, st.ID); err != nil {
		d.log.Warn("delete checkpointed container", logx.Sandbox(st.ID), logx.Err(err))
	}
	if err := d.cgroups.remove(st.ID); err != nil {
		d.log.Warn("remove checkpointed sandbox's cgroups", logx.Sandbox(st.ID), logx.Err(err))
	}
}

// readCheckpoint reads a complete checkpoint's description.
func readCheckpoint(dir string) (checkpointMeta, error) {
	var m checkpointMeta
	b, err := os.ReadFile(filepath.Join(dir, checkpointMetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("no complete checkpoint in %s: %w", dir, errdefs.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("read checkpoint: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("checkpoint %s is corrupt: %w: %w", dir, err, errdefs.ErrFailedPrecondition)
	}
	return m, nil
}

// syncTree fsyncs every file and directory under root, root last.
func syncTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if !e.Type().IsRegular() {
			return nil // links, and devices (an overlay's whiteouts) that cannot be opened
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := durable.SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// criuErrors returns CRIU's error lines from its log (the first n), or
// its last n lines if it logged no error.
func criuErrors(path string, n int) string {
	b, _ := os.ReadFile(path)
	var errs, last []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if strings.Contains(l, "Error (") && len(errs) < n {
			errs = append(errs, l)
		}
		last = append(last, l)
	}
	if len(errs) > 0 {
		return strings.Join(errs, " | ")
	}
	if len(last) == 0 {
		return "no log"
	}
	return strings.Join(last[max(0, len(last)-n):], " | ")
}

// startCheckpoint checks that the sandbox of st can be checkpointed into
// dir now (what names the kind of checkpoint in errors) and makes the
// partial directory the images are written to before it is renamed to
// dir. It returns that directory and the sandbox's status.
func (d *Driver) startCheckpoint(ctx context.Context, st sandboxState, id, dir, what string) (string, runtime.Status, error) {
	status, _, err := d.status(ctx, st)
	if err != nil {
		return "", "", err
	}
	if status != runtime.StatusRunning && status != runtime.StatusPaused {
		return "", "", fmt.Errorf("sandbox %q is %s, %s needs it running or paused: %w", id, status, what, errdefs.ErrFailedPrecondition)
	}
	if _, err := os.Lstat(dir); err == nil {
		return "", "", fmt.Errorf("checkpoint directory %s exists: %w", dir, errdefs.ErrAlreadyExists)
	}
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return "", "", fmt.Errorf("sandbox %q: remove stale partial checkpoint: %w", id, err)
	}
	if err := os.MkdirAll(filepath.Join(partial, "images"), 0o700); err != nil {
		return "", "", fmt.Errorf("sandbox %q: create checkpoint directory: %w", id, err)
	}
	return partial, status, nil
}
