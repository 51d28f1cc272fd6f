package remotedriver

import (
	"context"
	"encoding/json"
	"fmt"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A joined node keeps its sandboxes' checkpoints in its own data dir:
// the control plane names no path on it.
var (
	_ runtime.CheckpointKeeper = (*Driver)(nil)
	_ runtime.Recreator        = (*Driver)(nil)
	_ runtime.NetworkRepairer  = (*Driver)(nil)
)

// KeepCheckpoint implements runtime.CheckpointKeeper: the node
// checkpoints the sandbox into its checkpoint directory.
func (d *Driver) KeepCheckpoint(ctx context.Context, id string) (int64, error) {
	res, err := d.c.Checkpoint(ctx, ref(id))
	if err != nil {
		return 0, d.wireErr(err)
	}
	return res.Msg.GetSizeBytes(), nil
}

// RestoreKept implements runtime.CheckpointKeeper.
func (d *Driver) RestoreKept(ctx context.Context, id string) error {
	_, err := d.c.Restore(ctx, ref(id))
	return d.wireErr(err)
}

// KeptCheckpoint implements runtime.CheckpointKeeper.
func (d *Driver) KeptCheckpoint(ctx context.Context, id string) (int64, bool, error) {
	res, err := d.c.KeptCheckpoint(ctx, ref(id))
	if err != nil {
		return 0, false, d.wireErr(err)
	}
	return res.Msg.GetSizeBytes(), res.Msg.GetComplete(), nil
}

// DropCheckpoint implements runtime.CheckpointKeeper.
func (d *Driver) DropCheckpoint(ctx context.Context, id string) error {
	_, err := d.c.DropCheckpoint(ctx, ref(id))
	return d.wireErr(err)
}

// Recreate implements runtime.Recreator.
func (d *Driver) Recreate(ctx context.Context, id string) error {
	_, err := d.c.Recreate(ctx, ref(id))
	return d.wireErr(err)
}

// Release implements runtime.Recreator.
func (d *Driver) Release(ctx context.Context, id string) error {
	_, err := d.c.Release(ctx, ref(id))
	return d.wireErr(err)
}

// RepairNetwork implements runtime.NetworkRepairer.
func (d *Driver) RepairNetwork(ctx context.Context, id string) error {
	_, err := d.c.RepairNetwork(ctx, ref(id))
	return d.wireErr(err)
}

var _ runtime.CloneKeeper = (*Driver)(nil)

// KeepClone implements runtime.CloneKeeper: the node keeps the clone
// checkpoint and names it.
func (d *Driver) KeepClone(ctx context.Context, id string) (string, error) {
	res, err := d.c.CheckpointClone(ctx, ref(id))
	if err != nil {
		return "", d.wireErr(err)
	}
	return res.Msg.GetName(), nil
}

// RestoreKeptClone implements runtime.CloneKeeper.
func (d *Driver) RestoreKeptClone(ctx context.Context, spec runtime.Spec, name string) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("sandbox %q spec: %v: %w", spec.ID, err, errdefs.ErrInvalidArgument)
	}
	_, err = d.c.RestoreClone(ctx, connect.NewRequest(&nodev1.RestoreCloneRequest{SpecJson: b, Name: name}))
	return d.wireErr(err)
}

// DropClone implements runtime.CloneKeeper.
func (d *Driver) DropClone(ctx context.Context, _, name string) error {
	_, err := d.c.DropClone(ctx, connect.NewRequest(&nodev1.CloneCheckpoint{Name: name}))
	return d.wireErr(err)
}

var _ runtime.PausedMover = (*Driver)(nil)

// UploadPaused implements runtime.PausedMover.
func (d *Driver) UploadPaused(ctx context.Context, id string) (runtime.PausedBlob, error) {
	res, err := d.c.UploadPaused(ctx, ref(id))
	if err != nil {
		return runtime.PausedBlob{}, d.wireErr(err)
	}
	return runtime.PausedBlob{Digest: res.Msg.GetDigest(), Size: res.Msg.GetSizeBytes()}, nil
}

// RestoreFromBlob implements runtime.PausedMover.
func (d *Driver) RestoreFromBlob(ctx context.Context, spec runtime.Spec, blob runtime.PausedBlob) (bool, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return false, fmt.Errorf("sandbox %q spec: %v: %w", spec.ID, err, errdefs.ErrInvalidArgument)
	}
	res, err := d.c.RestoreMoved(ctx, connect.NewRequest(&nodev1.RestoreMovedRequest{SpecJson: b,
		Blob: &nodev1.PausedBlob{Digest: blob.Digest, SizeBytes: blob.Size}}))
	if err != nil {
		return false, d.wireErr(err)
	}
	return res.Msg.GetMemory(), nil
}

var _ runtime.SnapshotMover = (*Driver)(nil)

// UploadSnapshot implements runtime.SnapshotMover.
func (d *Driver) UploadSnapshot(ctx context.Context, id string, filesOnly bool) (runtime.PausedBlob, error) {
	res, err := d.c.UploadSnapshot(ctx, connect.NewRequest(&nodev1.UploadSnapshotRequest{Id: id, FilesOnly: filesOnly}))
	if err != nil {
		return runtime.PausedBlob{}, d.wireErr(err)
	}
	return runtime.PausedBlob{Digest: res.Msg.GetDigest(), Size: res.Msg.GetSizeBytes()}, nil
}

// RestoreSnapshotBlob implements runtime.SnapshotMover.
func (d *Driver) RestoreSnapshotBlob(ctx context.Context, spec runtime.Spec, blob runtime.PausedBlob) (bool, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return false, fmt.Errorf("sandbox %q spec: %v: %w", spec.ID, err, errdefs.ErrInvalidArgument)
	}
	res, err := d.c.RestoreMoved(ctx, connect.NewRequest(&nodev1.RestoreMovedRequest{SpecJson: b,
		Blob: &nodev1.PausedBlob{Digest: blob.Digest, SizeBytes: blob.Size}, Clone: true}))
	if err != nil {
		return false, d.wireErr(err)
	}
	return res.Msg.GetMemory(), nil
}
