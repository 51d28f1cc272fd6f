package catalog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// A snapshot of a sandbox on a joined node is kept in object storage:
// the node saves the sandbox with its processes, memory and files as a
// clone checkpoint and uploads it as one content-addressed blob (as it
// uploads a paused sandbox's state), and the catalog records that blob
// in the snapshot's build, which stacks on the source's template layers.
// A create from it goes to a joined node with object storage, which
// fetches the recorded blob, verified, and restores it. The blob is
// freed with the last build that names it (dropPacks).

// packRecord names a snapshot's blob in object storage.
type packRecord struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// FilesOnly: the blob holds the sandbox's files only, from which
	// creates boot afresh; else its clone checkpoint, which they
	// restore.
	FilesOnly bool `json:"filesOnly,omitempty"`
}

// SnapshotTokens are the access tokens of a snapshot's agent, which a
// sandbox restored from it answers to until it is given its own.
type SnapshotTokens struct {
	Envd    string `json:"envd,omitempty"`
	Traffic string `json:"traffic,omitempty"`
}

// BlobDeleter deletes a blob of object storage (objstore.Store).
type BlobDeleter interface {
	DeleteBlob(ctx context.Context, digest string) error
}

// NodePack is a snapshot kept in object storage, as a create from it
// needs it.
type NodePack struct {
	Blob runtime.PausedBlob
	// Memory: the blob is a clone checkpoint, restored with processes
	// and memory; else the files only, booted.
	Memory bool
	// Template is the template of the snapshot's source, whose layers
	// a create from it stacks under the files.
	Template string
	// Tokens are the snapshot's agent's, when Memory.
	Tokens SnapshotTokens
}

// CreateNodeSnapshot registers, as CreateSnapshot does, a snapshot of
// sandbox sb of a joined node kept in object storage as p.Blob
// (runtime.SnapshotMover.UploadSnapshot). A refusal (the team's disk
// quota, the name) deletes the blob, which nothing else names.
func (c *Catalog) CreateNodeSnapshot(ctx context.Context, sb store.Sandbox, name string, p NodePack) (Snapshot, error) {
	snap, err := c.createNodeSnapshot(ctx, sb, name, p)
	if err != nil {
		c.dropPacks(context.WithoutCancel(ctx), []string{p.Blob.Digest})
	}
	return snap, err
}

func (c *Catalog) createNodeSnapshot(ctx context.Context, sb store.Sandbox, name string, p NodePack) (Snapshot, error) {
	if c.blobs == nil {
		return Snapshot{}, fmt.Errorf("this control plane has no object storage to keep snapshots of joined nodes' sandboxes in: %w", errdefs.ErrFailedPrecondition)
	}
	tg, err := c.snapshotTarget(ctx, sb, name)
	if err != nil {
		return Snapshot{}, err
	}
	// The template a restore stacks on: a snapshot of a sandbox restored
	// from such a snapshot stacks on that one's, which every node
	// resolves (a snapshot kept in object storage names no layers of
	// its own).
	template := sb.TemplateID
	if from, ok := packTemplate(tg.src); ok {
		template = from
	}
	c.buildMu.RLock()
	defer c.buildMu.RUnlock()
	rec := snapshotRecord{SandboxID: sb.ID, Template: template,
		Pack: &packRecord{Digest: p.Blob.Digest, Size: p.Blob.Size, FilesOnly: !p.Memory}}
	if p.Memory {
		rec.Tokens = &p.Tokens
	}
	return c.registerSnapshot(ctx, sb, tg, c.recordedLayers(tg.lowers), rec, p.Blob.Size)
}

// SnapshotPack returns, for a template ref that names a snapshot kept
// in object storage (CreateNodeSnapshot), what a create from it needs;
// ok is false for any other template.
func (c *Catalog) SnapshotPack(ctx context.Context, ref string) (p NodePack, ok bool, err error) {
	_, b, err := c.resolve(ctx, ref)
	if err != nil || b.Source != sourceSnapshot {
		return p, false, err
	}
	var rec snapshotRecord
	if err := json.Unmarshal([]byte(b.Request), &rec); err != nil {
		return p, false, fmt.Errorf("snapshot %q: %w", ref, err)
	}
	if rec.Pack == nil {
		return p, false, nil
	}
	p = NodePack{Blob: runtime.PausedBlob{Digest: rec.Pack.Digest, Size: rec.Pack.Size}, Memory: !rec.Pack.FilesOnly, Template: rec.Template}
	if rec.Tokens != nil {
		p.Tokens = *rec.Tokens
	}
	return p, true, nil
}

// packTemplate returns the template a snapshot kept in object storage
// stacks on, if build b is one.
func packTemplate(b store.TemplateBuild) (string, bool) {
	if b.Source != sourceSnapshot {
		return "", false
	}
	var rec snapshotRecord
	if json.Unmarshal([]byte(b.Request), &rec) != nil || rec.Pack == nil {
		return "", false
	}
	return rec.Template, true
}

// snapshotPackOf returns the blob a build names, if it is a snapshot
// kept in object storage.
func snapshotPackOf(b store.TemplateBuild) *packRecord {
	if b.Source != sourceSnapshot {
		return nil
	}
	var rec snapshotRecord
	if json.Unmarshal([]byte(b.Request), &rec) != nil {
		return nil
	}
	return rec.Pack
}

// dropPacks deletes the blobs among digests that no build of any
// template names any more: the last snapshot naming one was deleted, or
// its registration refused. A failure is logged: what it leaves is a
// blob nothing names, which costs space, never a record naming a
// missing blob.
func (c *Catalog) dropPacks(ctx context.Context, digests []string) {
	if c.blobs == nil || len(digests) == 0 {
		return
	}
	c.buildMu.Lock()
	defer c.buildMu.Unlock()
	ts, err := c.store.ListTemplates(ctx, "")
	if err != nil {
		c.log.Warn("free snapshots' blobs in object storage", "error", err)
		return
	}
	used := map[string]bool{}
	for _, t := range ts {
		builds, err := c.store.ListBuilds(ctx, t.ID)
		if err != nil {
			c.log.Warn("free snapshots' blobs in object storage", "error", err)
			return
		}
		for _, b := range builds {
			if p := snapshotPackOf(b); p != nil {
				used[p.Digest] = true
			}
		}
	}
	for _, d := range digests {
		if used[d] {
			continue
		}
		if err := c.blobs.DeleteBlob(ctx, d); err != nil {
			c.log.Warn("delete a snapshot's blob in object storage", "blob", d, "error", err)
		}
	}
}
