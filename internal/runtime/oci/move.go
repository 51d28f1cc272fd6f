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

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Mover = (*Driver)(nil)

// A pack (PackPaused) is laid out as a clone checkpoint (clone.go):
// checkpoint.json with the source's host uid, layers, sandbox directory
// and cgroup parent; upper/, the writable layer. A pause with memory is
// not packed yet.

// PackPaused implements runtime.Mover.
func (d *Driver) PackPaused(ctx context.Context, id, checkpoint, dir string) (err error) {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("pack directory %q must be an absolute path: %w", dir, errdefs.ErrInvalidArgument)
	}
	dir = filepath.Clean(dir)
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if st.Runtime != "runc" {
		return fmt.Errorf("sandbox %q: only runc sandboxes move between nodes: %w", id, errdefs.ErrFailedPrecondition)
	}
	if checkpoint != "" {
		return fmt.Errorf("sandbox %q: a sandbox paused with its memory is not moved between nodes yet: %w", id, errdefs.ErrFailedPrecondition)
	}
	meta := checkpointMeta{Sandbox: id, Runtime: st.Runtime, CreatedAt: time.Now().UTC()}
	meta.HostUID, meta.TemplateLayers = st.HostUID, st.TemplateLayers
	meta.SourceDir, meta.SourceCgroupParent = d.sandboxDir(id), d.cgroups.parent
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("pack directory %s: %w", dir, errdefs.ErrAlreadyExists)
	}
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := os.MkdirAll(partial, 0o700); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(partial)
		}
	}()
	if err := durable.SyncFS(d.diskDir(id)); err != nil {
		return fmt.Errorf("sandbox %q: sync writable layer: %w", id, err)
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", filepath.Join(d.diskDir(id), "upper")+"/.", filepath.Join(partial, cloneUpper)).CombinedOutput(); err != nil {
		return fmt.Errorf("sandbox %q: copy its writable layer: %v: %s", id, err, strings.TrimSpace(string(out)))
	}
	return d.sealCheckpoint(partial, dir, meta)
}

// RestoreMoved implements runtime.Mover.
func (d *Driver) RestoreMoved(ctx context.Context, spec runtime.Spec, dir string) (memory bool, err error) {
	dir = filepath.Clean(dir)
	meta, err := readCheckpoint(dir)
	if err != nil {
		return false, err
	}
	if err := meta.validate(spec.ID, "runc"); err != nil {
		return false, fmt.Errorf("the pack of sandbox %q is not usable: %w", spec.ID, err)
	}
	if meta.HostUID == 0 || meta.SourceDir == "" {
		return false, fmt.Errorf("the pack of sandbox %q was not made for a move: %w", spec.ID, errdefs.ErrInvalidArgument)
	}
	if _, err := os.Stat(filepath.Join(dir, "images")); err == nil {
		return false, fmt.Errorf("the pack of sandbox %q holds its memory, which is not moved between nodes yet: %w", spec.ID, errdefs.ErrFailedPrecondition)
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	// Files only: created on them, for Start to boot.
	spec.Runtime = "runc"
	if len(spec.Layers) == 0 {
		spec.Layers = meta.TemplateLayers
	}
	seed := func(upper string, hostUID uint32) error {
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", filepath.Join(dir, cloneUpper)+"/.", upper).CombinedOutput(); err != nil {
			return fmt.Errorf("copy the writable layer: %v: %s", err, strings.TrimSpace(string(out)))
		}
		if err := shiftOwners(upper, meta.HostUID, hostUID); err != nil {
			return err
		}
		return seedIdentityFree(upper)
	}
	_, err = d.create(ctx, spec, seed)
	return false, err
}
