package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/store"
)

// sourceSnapshot marks the builds that are snapshots of a sandbox's
// filesystem.
const sourceSnapshot = "snapshot"

// Snapshot is a persistent filesystem snapshot of a sandbox (E2B's
// SnapshotInfo): a private template of the sandbox's team whose one build
// stacks the sandbox's changes on its template's layers. Its id (or a
// name) is a create's templateID; it outlives its sandbox and is deleted
// as a template.
type Snapshot struct {
	ID        string
	Names     []string
	SandboxID string
	SizeBytes int64
	CreatedAt time.Time
	// Memory says the snapshot keeps processes and memory, which a
	// create from it restores; false: files only.
	Memory bool
}

// snapshotIDPrefix starts the id of every snapshot template (others
// start with "tpl", and the default template is "base").
const snapshotIDPrefix = "snap"

// IsSnapshot reports whether template t is a snapshot of a sandbox.
func IsSnapshot(t store.Template) bool { return strings.HasPrefix(t.ID, snapshotIDPrefix) }

// snapshotRecord is what a snapshot's build keeps in its Request.
type snapshotRecord struct {
	SandboxID string `json:"sandboxID"`
	// Checkpoint is the layer-store digest (in older records: the
	// directory) of the snapshot's clone checkpoint (processes and
	// memory), empty for files only; Template
	// is the source's template, whose layers a restore stacks under it.
	Checkpoint string `json:"checkpoint,omitempty"`
	Template   string `json:"template,omitempty"`
	// FilesInLayer says the checkpoint holds no copy of the files: a
	// restore stacks the snapshot's own layers (its files on top of
	// Template's), so they are stored once. Snapshots made before it
	// existed hold their files in the checkpoint and restore on
	// Template's layers.
	FilesInLayer bool `json:"filesInLayer,omitempty"`
	// Pack, for a snapshot taken on a joined node, is the blob in
	// object storage holding its clone checkpoint with its files (see
	// CreateNodeSnapshot); Tokens are its agent's access tokens, which
	// a restore replaces.
	Pack   *packRecord     `json:"pack,omitempty"`
	Tokens *SnapshotTokens `json:"tokens,omitempty"`
}

// memory says the snapshot keeps processes and memory.
func (r snapshotRecord) memory() bool {
	return r.Checkpoint != "" || (r.Pack != nil && !r.Pack.FilesOnly)
}

// CreateSnapshot keeps the writable layer of sandbox sb (upper, owned by
// host uids from hostUID; the caller holds the sandbox still meanwhile)
// as a layer, content-addressed: the same changes are one layer, shared
// and freed with the last template that uses it, and registers the
// snapshot as a private template of the sandbox's team, named name when
// one is given.
//
// checkpoint, when not nil, fills a directory that must not exist yet
// with a clone checkpoint of the sandbox (its processes and memory) and
// reports whether it holds a copy of the files too; it is kept
// content-addressed in the layer store beside the files, and a create
// from the snapshot restores it: on the snapshot's layers when it holds
// no files, so that they are stored once. A checkpoint the runtime
// refuses (ErrFailedPrecondition) leaves a snapshot of the files only.
func (c *Catalog) CreateSnapshot(ctx context.Context, sb store.Sandbox, name, upper string, hostUID uint32, checkpoint func(dir string) (withFiles bool, err error)) (Snapshot, error) {
	if c.layers == nil {
		return Snapshot{}, fmt.Errorf("this server keeps no template layers, so no snapshots: %w", errdefs.ErrFailedPrecondition)
	}
	tg, err := c.snapshotTarget(ctx, sb, name)
	if err != nil {
		return Snapshot{}, err
	}
	// No layer is collected while the snapshot is made and registered.
	c.buildMu.RLock()
	defer c.buildMu.RUnlock()
	digest, size, err := c.captureLayer(upper, hostUID)
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of sandbox %q: %w", sb.ID, err)
	}
	rec := snapshotRecord{SandboxID: sb.ID}
	if checkpoint != nil {
		cpDigest, cpSize, withFiles, err := c.installCheckpoint(checkpoint)
		switch {
		case errdefs.IsFailedPrecondition(err):
			c.log.Info("snapshot with files only: the runtime cannot checkpoint the sandbox", "sandbox.id", sb.ID, "error", err)
		case err != nil:
			return Snapshot{}, fmt.Errorf("snapshot of sandbox %q: %w", sb.ID, err)
		default:
			rec.Checkpoint, rec.Template, rec.FilesInLayer = cpDigest, sb.TemplateID, !withFiles
			size += cpSize
		}
	}
	return c.registerSnapshot(ctx, sb, tg, append([]string{digest}, c.recordedLayers(tg.lowers)...), rec, size)
}

// snapshotTarget is what a snapshot of sb named name is registered
// under: the team's snapshot of that name, if there is one, and the
// build of sb's template it stacks on.
type snapshotTarget struct {
	existing *store.Template // the team's snapshot of that name
	names    []string
	src      store.TemplateBuild
	lowers   []string
}

// snapshotTarget checks name and the team's disk quota and finds what
// a snapshot of sb registers under.
func (c *Catalog) snapshotTarget(ctx context.Context, sb store.Sandbox, name string) (snapshotTarget, error) {
	var tg snapshotTarget
	if name != "" {
		if err := store.ValidateTemplateName(name); err != nil {
			return tg, fmt.Errorf("snapshot name: %w", err)
		}
		t, err := c.store.GetTemplate(ctx, name)
		switch {
		case err == nil && IsSnapshot(t) && t.Team == sb.ClientID:
			tg.existing = &t
		case err == nil:
			return tg, fmt.Errorf("name %q is taken by a template; choose another: %w", name, errdefs.ErrAlreadyExists)
		case !errdefs.IsNotFound(err):
			return tg, err
		}
		tg.names = []string{name}
	}
	var err error
	if _, tg.src, err = c.resolve(ctx, sb.TemplateID); err != nil {
		return tg, fmt.Errorf("the template of sandbox %q: %w", sb.ID, err)
	}
	if tg.lowers, err = c.buildLayers(ctx, tg.src); err != nil {
		return tg, err
	}
	if err := c.admitDisk(ctx, sb.ClientID, 0); err != nil {
		return tg, err
	}
	return tg, nil
}

// registerSnapshot records the snapshot of sb whose build stacks layers
// and keeps rec, of size bytes, as a private template of sb's team (or
// the newest build of tg.existing), refused past the team's disk quota.
// Call it with buildMu read-locked: what it names is not collected.
func (c *Catalog) registerSnapshot(ctx context.Context, sb store.Sandbox, tg snapshotTarget, layers []string, rec snapshotRecord, size int64) (Snapshot, error) {
	// What the snapshot adds is refused past the team's disk quota (its
	// layer and checkpoint, unreferenced, are collected).
	if err := c.admitDisk(ctx, sb.ClientID, size); err != nil {
		return Snapshot{}, err
	}
	existing, src := tg.existing, tg.src
	t := store.Template{ID: newID(snapshotIDPrefix), Names: tg.names, Team: sb.ClientID, CPUCount: sb.CPUCount, MemoryMB: sb.MemoryMB}
	if existing != nil {
		t = *existing
	} else if err := c.store.CreateTemplate(ctx, t); err != nil {
		return Snapshot{}, err
	}
	recJSON, _ := json.Marshal(rec)
	b := store.TemplateBuild{ID: newID("bld"), TemplateID: t.ID, Status: store.BuildWaiting,
		CPUCount: t.CPUCount, MemoryMB: t.MemoryMB, Request: string(recJSON), Source: sourceSnapshot}
	err := c.store.CreateBuild(ctx, b)
	if err == nil {
		b.Status = store.BuildReady
		b.Layers = layers
		b.SizeBytes = size
		b.Env, b.Workdir, b.User, b.StartCmd, b.ReadyCmd = src.Env, src.Workdir, src.User, src.StartCmd, src.ReadyCmd
		err = c.store.FinishBuild(ctx, b, []string{store.DefaultTag}, time.Time{})
	}
	if err != nil {
		if existing != nil {
			// The snapshot keeps its newest ready build; this one failed.
			b.Status, b.Reason = store.BuildError, err.Error()
			if ferr := c.store.FinishBuild(context.WithoutCancel(ctx), b, nil, time.Time{}); ferr != nil {
				c.log.Error("record a failed snapshot build", "template", t.ID, "error", ferr)
			}
		} else if derr := c.store.DeleteTemplate(context.WithoutCancel(ctx), t.ID); derr != nil {
			c.log.Error("remove half-registered snapshot", "template", t.ID, "error", derr)
		}
		return Snapshot{}, err
	}
	t, err = c.store.GetTemplate(ctx, t.ID)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{ID: t.ID, Names: t.Names, SandboxID: sb.ID, SizeBytes: size, CreatedAt: t.CreatedAt, Memory: rec.memory()}, nil
}

// installCheckpoint has fill write a checkpoint into a staging directory
// of the layer store, names it by its content and installs it, synced.
// withFiles is fill's: the checkpoint holds a copy of the files.
func (c *Catalog) installCheckpoint(fill func(dir string) (bool, error)) (digest string, size int64, withFiles bool, err error) {
	staging, err := os.MkdirTemp(c.layers.Dir(), ".new-")
	if err != nil {
		return "", 0, false, err
	}
	defer os.RemoveAll(staging)
	dir := filepath.Join(staging, "c")
	if withFiles, err = fill(dir); err != nil {
		return "", 0, false, err
	}
	digest, err = layer.TreeDigest(dir)
	if err != nil {
		return "", 0, false, fmt.Errorf("name the checkpoint: %w", err)
	}
	err = c.layers.Install(digest, func(into string) error {
		if err := os.Remove(into); err != nil {
			return err
		}
		return os.Rename(dir, into)
	})
	if err != nil {
		return "", 0, false, err
	}
	if err := durable.SyncFS(c.layers.Path(digest)); err != nil {
		return "", 0, false, fmt.Errorf("sync the checkpoint: %w", err)
	}
	size, err = c.layers.Size(digest)
	return digest, size, withFiles, err
}

// SnapshotCheckpoint returns, for a template ref that names a snapshot
// with processes and memory, its clone checkpoint's directory and the
// template whose layers a restore of it stacks: the snapshot's build ref
// names (see buildRef) when the checkpoint keeps no copy of the files
// (they are that build's top layer), else the template the snapshot's sandbox was made from (a
// snapshot made before the files were stored once). ok is false for any
// other template.
func (c *Catalog) SnapshotCheckpoint(ctx context.Context, ref string) (dir, template string, ok bool, err error) {
	_, b, err := c.resolve(ctx, ref)
	if err != nil || b.Source != sourceSnapshot {
		return "", "", false, err
	}
	var rec snapshotRecord
	if err := json.Unmarshal([]byte(b.Request), &rec); err != nil {
		return "", "", false, fmt.Errorf("snapshot %q: %w", ref, err)
	}
	if rec.Checkpoint == "" {
		return "", "", false, nil
	}
	// Kept in the layer store: a host that lacks it fetches it.
	dir, err = c.localLayer(ctx, rec.Checkpoint, true)
	if err != nil {
		return "", "", false, err
	}
	if rec.FilesInLayer {
		return dir, buildRef(b.TemplateID, b.ID), true, nil
	}
	return dir, rec.Template, true, nil
}

// snapshotCheckpointOf returns the checkpoint directory a build keeps, if
// it is a snapshot with one.
func snapshotCheckpointOf(b store.TemplateBuild) string {
	if b.Source != sourceSnapshot {
		return ""
	}
	var rec snapshotRecord
	if json.Unmarshal([]byte(b.Request), &rec) != nil {
		return ""
	}
	return rec.Checkpoint
}

// captureLayer copies the changes into a staging directory of the layer
// store, names them by their content and installs them (or finds them
// installed already), synced to disk. It returns the layer's digest and
// its size on disk.
func (c *Catalog) captureLayer(upper string, hostUID uint32) (string, int64, error) {
	staging, err := os.MkdirTemp(c.layers.Dir(), ".new-")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(staging) // gone once installed
	if err := os.Chmod(staging, 0o755); err != nil {
		return "", 0, err
	}
	if err := builder.Capture(upper, staging, hostUID); err != nil {
		return "", 0, fmt.Errorf("copy the writable layer: %w", err)
	}
	digest, err := layer.TreeDigest(staging)
	if err != nil {
		return "", 0, fmt.Errorf("name the layer: %w", err)
	}
	err = c.layers.Install(digest, func(dir string) error {
		if err := os.Remove(dir); err != nil {
			return err
		}
		return os.Rename(staging, dir)
	})
	if err != nil {
		return "", 0, err
	}
	if err := durable.SyncFS(c.layers.Path(digest)); err != nil {
		return "", 0, fmt.Errorf("sync the layer: %w", err)
	}
	size, err := c.layers.Size(digest)
	return digest, size, err
}

// ListSnapshots returns team's snapshots, of sandbox sandboxID only when
// it is given, oldest first.
func (c *Catalog) ListSnapshots(ctx context.Context, team, sandboxID string) ([]Snapshot, error) {
	ts, err := c.store.ListTemplates(ctx, team)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, t := range ts {
		if t.Team != team {
			continue // public templates of others
		}
		builds, err := c.store.ListBuilds(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		// A snapshot is listed once, as its newest ready build (a
		// snapshot taken again under its name), which creates use.
		var newest *store.TemplateBuild
		for i, b := range builds {
			if b.Source == sourceSnapshot && b.Status == store.BuildReady {
				newest = &builds[i]
			}
		}
		if newest == nil {
			continue
		}
		var rec snapshotRecord
		if err := json.Unmarshal([]byte(newest.Request), &rec); err != nil {
			return nil, fmt.Errorf("snapshot %q: %w", t.ID, err)
		}
		if sandboxID != "" && rec.SandboxID != sandboxID {
			continue
		}
		out = append(out, Snapshot{ID: t.ID, Names: t.Names, SandboxID: rec.SandboxID, SizeBytes: newest.SizeBytes, CreatedAt: t.CreatedAt, Memory: rec.memory()})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SnapshotDiskUsage is the space the layers of every team's snapshots
// take on disk, each layer counted once.
func (c *Catalog) SnapshotDiskUsage(ctx context.Context) (int64, error) {
	if c.layers == nil {
		return 0, nil
	}
	ts, err := c.store.ListTemplates(ctx, "")
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var total int64
	for _, t := range ts {
		builds, err := c.store.ListBuilds(ctx, t.ID)
		if err != nil {
			return 0, err
		}
		for _, b := range builds {
			if p := snapshotPackOf(b); p != nil {
				// In object storage, counted as its blob.
				if !seen[p.Digest] {
					seen[p.Digest] = true
					total += p.Size
				}
				continue
			}
			if b.Source != sourceSnapshot || len(b.Layers) == 0 {
				continue
			}
			for _, l := range []string{b.Layers[0], snapshotCheckpointOf(b)} {
				if l == "" {
					continue
				}
				p := c.layerPath(l)
				if seen[p] {
					continue
				}
				seen[p] = true
				n, err := layer.DiskUsage(p)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return 0, err
				}
				total += n
			}
		}
	}
	return total, nil
}
