package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// A sandbox paused with its memory keeps its checkpoint on this node's
// disk, and, when object storage is configured (Config.Objects), also
// there: the pause is acknowledged once the checkpoint is durable on
// disk; the upload follows in the background, after Pause returned and
// released the sandbox's operation lock, and is recorded in the store
// when done. A resume or kill meanwhile cancels it and waits for it to
// return (stopUpload) before it touches the checkpoint. An upload that
// fails is logged and leaves the sandbox paused on this node's disk only. A resume whose checkpoint is not on disk (the
// disk was lost, or the sandbox is resumed elsewhere) downloads the
// recorded one first, verified against its digest.

// forgetCheckpointObject drops the record of an earlier pause's
// checkpoint before a new pause begins, so that a resume never restores
// an older checkpoint than the last pause's.
func (m *Manager) forgetCheckpointObject(ctx context.Context, id string) error {
	if m.objects == nil {
		return nil
	}
	return m.store.DeleteCheckpointObject(ctx, id)
}

// uploadCheckpoint stores the complete checkpoint of paused sandbox id in
// object storage and records where. A joined node's sandbox (node set)
// is uploaded by its node: its writable layer, and its checkpoint if it
// has one (NodeMover), for a resume on another node.
func (m *Manager) uploadCheckpoint(ctx context.Context, id, node string) {
	if m.objects == nil {
		return
	}
	start := time.Now()
	var (
		ref  objstore.Ref
		sent bool
		err  error
	)
	if pm, ok := m.driver.(NodeMover); ok && node != "" {
		var blob runtime.PausedBlob
		blob, err = pm.UploadPaused(ctx, id)
		ref, sent = objstore.Ref{Digest: blob.Digest, Size: blob.Size}, true
		if err == nil {
			err = m.checkNodeUpload(ctx, node, ref)
		}
	} else if node != "" {
		return
	} else if err = os.MkdirAll(m.transferDir(), 0o700); err == nil {
		ref, sent, err = m.objects.UploadDir(ctx, m.checkpointDir(id), m.transferDir())
	}
	if err == nil {
		// Not once a resume or kill has cancelled it: the checkpoint
		// is being used or gone.
		err = ctx.Err()
	}
	if err == nil {
		err = m.store.SetCheckpointObject(ctx, store.CheckpointObject{SandboxID: id, Digest: ref.Digest, Size: ref.Size})
	}
	if err != nil {
		m.log.Warn("upload a checkpoint to object storage; it stays on this node's disk only", logx.Sandbox(id), logx.Err(err))
		return
	}
	m.log.Info("checkpoint uploaded to object storage", logx.Sandbox(id), slog.String("digest", ref.Digest),
		slog.Int64("bytes", ref.Size), slog.Bool("sent", sent), slog.Duration("took", time.Since(start)))
}

// fetchCheckpoint downloads the recorded checkpoint of paused sandbox id
// when this node's disk lacks it. The blob is verified before it is
// installed: a corrupted or truncated one is refused, nothing is
// installed, and the error says so (the sandbox stays paused). Without a
// record, or with the checkpoint on disk, it does nothing.
func (m *Manager) fetchCheckpoint(ctx context.Context, id string) error {
	if m.objects == nil || m.checkpoints == "" {
		return nil
	}
	dir := m.checkpointDir(id)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	rec, err := m.store.CheckpointObject(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.checkpoints, 0o711); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	if err := os.MkdirAll(m.transferDir(), 0o700); err != nil {
		return fmt.Errorf("checkpoint transfer directory: %w", err)
	}
	release, err := m.reserveFetch(id, rec.Size)
	if err != nil {
		return err
	}
	defer release()
	// Written outside the checkpoint directory, on its file system, and
	// renamed into it once verified and unpacked: the directory appears
	// only complete, as after a pause.
	tmp := m.fetchPath(id)
	if err := os.RemoveAll(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("checkpoint of sandbox %q: %w", id, err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("checkpoint of sandbox %q: %w", id, err)
	}
	start := time.Now()
	err = m.objects.DownloadDir(ctx, objRef(rec), tmp, m.transferDir())
	if err == nil {
		err = durable.SyncFS(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("sandbox %q: its checkpoint is not on this node's disk and fetching it from object storage failed: %w", id, err)
	}
	m.log.Info("checkpoint fetched from object storage", logx.Sandbox(id), slog.String("digest", rec.Digest),
		slog.Int64("bytes", rec.Size), slog.Duration("took", time.Since(start)))
	return nil
}

// dropCheckpointObject deletes the record of sandbox id's checkpoint in
// object storage, then its blob in the background (deleteBlobLater), once
// nothing will restore it: after a restore, and when the sandbox ends.
// Call it under the sandbox's operation lock, after stopUpload, so the
// record it deletes is the one it read. A failure is logged: what it
// leaves is a blob no record names, which costs space, never a record
// naming a missing blob. A checkpoint's blob is its sandbox's alone (its
// checkpoint.json names the sandbox).
func (m *Manager) dropCheckpointObject(ctx context.Context, id string) {
	if m.objects == nil {
		return
	}
	rec, err := m.store.CheckpointObject(ctx, id)
	if errdefs.IsNotFound(err) {
		return
	}
	if err == nil {
		err = m.store.DeleteCheckpointObject(ctx, id)
	}
	if err != nil {
		m.log.Warn("forget a used checkpoint in object storage", logx.Sandbox(id), logx.Err(err))
		return
	}
	m.deleteBlobLater(id, rec.Digest)
}

// objRef is the blob a checkpoint record names.
func objRef(rec store.CheckpointObject) objstore.Ref {
	return objstore.Ref{Digest: rec.Digest, Size: rec.Size}
}

// checkNodeUpload checks the blob a joined node says it uploaded a
// paused sandbox as: object storage must hold it at the size named. The
// record is what another node restores the sandbox from, and what is
// deleted once the sandbox resumes, so a blob the node never uploaded
// (or cut short) is not recorded: the sandbox then resumes on its node
// only, as one whose upload failed.
func (m *Manager) checkNodeUpload(ctx context.Context, node string, ref objstore.Ref) error {
	if !objstore.ValidDigest(ref.Digest) || ref.Size <= 0 {
		return fmt.Errorf("node %s answered the upload with %q of %d bytes, not a blob: %w", node, ref.Digest, ref.Size, errdefs.ErrUnavailable)
	}
	size, err := m.objects.StatBlob(ctx, ref.Digest)
	if err != nil {
		return fmt.Errorf("node %s answered the upload with blob %s: %w", node, ref.Digest, err)
	}
	if size != ref.Size {
		return fmt.Errorf("node %s answered the upload with blob %s of %d bytes; object storage holds %d: %w", node, ref.Digest, ref.Size, size, errdefs.ErrUnavailable)
	}
	return nil
}
