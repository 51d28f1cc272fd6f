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

var (
	_ runtime.Mover       = (*Driver)(nil)
	_ runtime.PackCreator = (*Driver)(nil)
)

// A pack (PackPaused) is laid out as a clone checkpoint (clone.go):
// checkpoint.json with the source's host uid, layers and, for the
// external files, its sandbox directory and cgroup parent; upper/, the
// writable layer; images/, only for a pause with memory. So the restore
// of one with its memory is RestoreClone's, under the same id.

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
	meta := checkpointMeta{Sandbox: id, Runtime: st.Runtime, CreatedAt: time.Now().UTC()}
	if checkpoint != "" {
		if meta, err = readCheckpoint(checkpoint); err != nil {
			return fmt.Errorf("sandbox %q: %w", id, err)
		}
		if err := meta.validate(id, st.Runtime); err != nil {
			return fmt.Errorf("sandbox %q: its checkpoint is not usable: %w", id, err)
		}
	}
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
	copies := [][2]string{{filepath.Join(d.diskDir(id), "upper"), filepath.Join(partial, cloneUpper)}}
	if checkpoint != "" {
		copies = append(copies, [2]string{filepath.Join(checkpoint, "images"), filepath.Join(partial, "images")})
	}
	for _, c := range copies {
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", c[0]+"/.", c[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("sandbox %q: copy %s: %v: %s", id, filepath.Base(c[1]), err, strings.TrimSpace(string(out)))
		}
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
		return true, d.RestoreClone(ctx, spec, dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	// Files only: created on them, for Start to boot.
	return false, d.createOnPack(ctx, spec, dir, meta)
}

// CreateFromPack implements runtime.PackCreator.
func (d *Driver) CreateFromPack(ctx context.Context, spec runtime.Spec, dir string) error {
	dir = filepath.Clean(dir)
	meta, err := readCheckpoint(dir)
	if err != nil {
		return err
	}
	if err := meta.validate(meta.Sandbox, "runc"); err != nil {
		return fmt.Errorf("pack %s is not usable: %w", dir, err)
	}
	if meta.HostUID == 0 {
		return fmt.Errorf("pack %s was not made for other sandboxes: %w", dir, errdefs.ErrInvalidArgument)
	}
	return d.createOnPack(ctx, spec, dir, meta)
}

// createOnPack creates spec's sandbox on the writable layer of the pack
// in dir (its owners moved to the sandbox's host uids, its own host
// name and hosts file), on spec's layers or else the pack's.
func (d *Driver) createOnPack(ctx context.Context, spec runtime.Spec, dir string, meta checkpointMeta) error {
	spec.Runtime = "runc"
	spec.Layers = movedLayers(meta.TemplateLayers, spec.Layers)
	seed := func(upper string, hostUID uint32) error {
		if out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", filepath.Join(dir, cloneUpper)+"/.", upper).CombinedOutput(); err != nil {
			return fmt.Errorf("copy the writable layer: %v: %s", err, strings.TrimSpace(string(out)))
		}
		if err := shiftOwners(upper, meta.HostUID, hostUID, true); err != nil {
			return err
		}
		return seedIdentityFree(upper)
	}
	_, err := d.create(ctx, spec, seed)
	return err
}

// mapMovedPaths maps the external files of a pack made on another node
// (meta.SourceDir set) from that node's sandbox directory and cgroup
// parent to this driver's; what names neither is left, for the check
// that refuses it.
func (d *Driver) mapMovedPaths(meta *checkpointMeta) {
	if meta.SourceDir == "" {
		return
	}
	id := meta.Sandbox
	type root struct{ from, to string }
	roots := []root{{meta.SourceDir, d.sandboxDir(id)}}
	if meta.SourceCgroupParent != "" {
		for _, h := range d.cgroups.hierarchies() {
			roots = append(roots, root{filepath.Join(h, meta.SourceCgroupParent, id), filepath.Join(h, d.cgroups.parent, id)})
		}
	}
	for i, ef := range meta.External {
		for _, r := range roots {
			if ef.Path == r.from || strings.HasPrefix(ef.Path, r.from+"/") {
				meta.External[i].Path = r.to + strings.TrimPrefix(ef.Path, r.from)
				break
			}
		}
	}
}

// movedLayers are the layers a sandbox moved from another node stacks
// on: those its pack names (the node that made it knew what the sandbox
// was created on), each fetched, if this node lacks it, only as the
// archive the control plane names for that digest (named, from its own
// records, in the restore's spec). A pack is made by another node and
// trusted no further than that: the archive it names for a layer is
// dropped, so it can never have this node install an archive of its
// choosing as a layer other sandboxes stack on. A layer neither here
// nor named by the control plane is refused by the resolver.
func movedLayers(pack, named []runtime.TemplateLayer) []runtime.TemplateLayer {
	if len(pack) == 0 {
		return nil
	}
	byDigest := map[string]runtime.TemplateLayer{}
	for _, l := range named {
		if l.Digest != "" {
			byDigest[l.Digest] = l
		}
	}
	out := make([]runtime.TemplateLayer, len(pack))
	for i, l := range pack {
		switch n, ok := byDigest[l.Digest]; {
		case l.Digest == "":
			out[i] = runtime.TemplateLayer{Base: l.Base}
		case ok:
			out[i] = n
		default:
			out[i] = runtime.TemplateLayer{Digest: l.Digest, Tree: l.Tree}
		}
	}
	return out
}
