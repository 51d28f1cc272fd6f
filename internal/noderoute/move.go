package noderoute

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A paused sandbox of a joined node can move: its node uploads its
// paused state (UploadPaused, by the sandbox's recorded node), another
// node is asked by name to make it from that (RestoreFromBlobOn: the
// store still records the first node until that succeeded), and once
// the store records the new node, Moved makes the router send the
// sandbox's calls there.

// UploadPaused implements runtime.PausedMover (joined nodes only).
func (r *Router) UploadPaused(ctx context.Context, id string) (blob runtime.PausedBlob, err error) {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return blob, err
	case d == nil:
		return blob, fmt.Errorf("sandbox %q runs on the embedded node, whose checkpoints the control plane uploads: %w", id, errdefs.ErrFailedPrecondition)
	}
	pm, ok := d.(runtime.PausedMover)
	if !ok {
		return blob, cannot(id, n, "move a paused sandbox")
	}
	return pm.UploadPaused(ctx, id)
}

// RestoreFromBlobOn has joined node make spec's sandbox from blob
// (runtime.PausedMover), whatever node the store records it on.
func (r *Router) RestoreFromBlobOn(ctx context.Context, node string, spec runtime.Spec, blob runtime.PausedBlob) (bool, error) {
	d, err := r.remoteOf(ctx, node)
	if err != nil {
		return false, fmt.Errorf("node %s: %w", node, err)
	}
	pm, ok := d.(runtime.PausedMover)
	if !ok {
		return false, cannot(spec.ID, node, "take a paused sandbox from another node")
	}
	return pm.RestoreFromBlob(ctx, spec, blob)
}

// DestroyOn destroys sandbox id on joined node, whatever node the store
// records it on: what a sandbox moved away left there.
func (r *Router) DestroyOn(ctx context.Context, node, id string) error {
	d, err := r.remoteOf(ctx, node)
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	return d.Destroy(ctx, id)
}

// Moved makes the router send sandbox id's calls to node, which the
// store now records it on.
func (r *Router) Moved(id, node string) { r.nodes.Store(id, node) }

// UploadSnapshot implements runtime.SnapshotMover's upload on the
// sandbox's joined node.
func (r *Router) UploadSnapshot(ctx context.Context, id string, filesOnly bool) (blob runtime.PausedBlob, err error) {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return blob, err
	case d == nil:
		return blob, fmt.Errorf("sandbox %q runs on the embedded node, whose snapshots the control plane keeps: %w", id, errdefs.ErrFailedPrecondition)
	}
	sm, ok := d.(runtime.SnapshotMover)
	if !ok {
		return blob, cannot(id, n, "snapshot a sandbox")
	}
	return sm.UploadSnapshot(ctx, id, filesOnly)
}

// RestoreSnapshotBlobOn has joined node restore spec's new sandbox from
// snapshot blob (runtime.SnapshotMover).
func (r *Router) RestoreSnapshotBlobOn(ctx context.Context, node string, spec runtime.Spec, blob runtime.PausedBlob) (bool, error) {
	d, err := r.remoteOf(ctx, node)
	if err != nil {
		return false, fmt.Errorf("node %s: %w", node, err)
	}
	sm, ok := d.(runtime.SnapshotMover)
	if !ok {
		return false, cannot(spec.ID, node, "restore a snapshot")
	}
	return sm.RestoreSnapshotBlob(ctx, spec, blob)
}
