package runtime

import "context"

// Mover is the optional ability of a node's driver to move a paused
// sandbox to another node: PackPaused copies what a resume elsewhere
// needs into a directory (to be stored in object storage), RestoreMoved
// makes the sandbox again, under the same id, from such a directory on
// another node.
type Mover interface {
	// PackPaused copies into dir (which must not exist; it appears only
	// complete) the writable layer of stopped sandbox id and, unless
	// checkpoint is "" (a pause with its files only), the complete
	// checkpoint in that directory.
	PackPaused(ctx context.Context, id, checkpoint, dir string) error
	// RestoreMoved creates sandbox spec.ID on this node from a pack in
	// dir: its files under this node's host uids, a network of this
	// node's (a new address), and, when the pack holds a checkpoint, its
	// processes restored (memory true). Without one the sandbox is
	// created on its files only: Start boots a fresh agent. On failure
	// nothing of it is left.
	RestoreMoved(ctx context.Context, spec Spec, dir string) (memory bool, err error)
}

// PackCreator is the optional ability of a node's driver to create a
// new sandbox on the files of a pack with its files only (Mover's
// PackPaused without a checkpoint) made of another sandbox: a snapshot
// of its files, kept in object storage.
type PackCreator interface {
	// CreateFromPack creates sandbox spec.ID (not the pack's) on the
	// writable layer in dir, under this sandbox's host uids, for Start
	// to boot. On failure nothing of it is left.
	CreateFromPack(ctx context.Context, spec Spec, dir string) error
}

// PausedBlob is the blob in object storage holding what a paused
// sandbox's resume on another node needs (see Mover).
type PausedBlob struct {
	Digest string // "sha256:<hex>"
	Size   int64
}

// PausedMover is the optional ability of a joined node's driver (the
// control plane's side) to store a paused sandbox's state in the node's
// object storage and to make a sandbox from such a blob on the node.
type PausedMover interface {
	// UploadPaused has the node of paused sandbox id upload its pack.
	UploadPaused(ctx context.Context, id string) (PausedBlob, error)
	// RestoreFromBlob has the node fetch blob, verified against its
	// digest and size, and make spec's sandbox from it (see Mover).
	RestoreFromBlob(ctx context.Context, spec Spec, blob PausedBlob) (memory bool, err error)
}

// SnapshotMover is the optional ability of a joined node's driver (the
// control plane's side) to keep a running sandbox's snapshot in the
// node's object storage, and to make new sandboxes from such a blob on
// any node that reaches that storage.
type SnapshotMover interface {
	// UploadSnapshot has the node of sandbox id save it and upload that
	// as one blob: when running and not filesOnly, with its processes,
	// memory and files (Cloner.CheckpointClone: held still meanwhile, it
	// runs on afterwards); else its files only (Mover.PackPaused
	// without a checkpoint, a running sandbox held still meanwhile).
	UploadSnapshot(ctx context.Context, id string, filesOnly bool) (PausedBlob, error)
	// RestoreSnapshotBlob has the node fetch blob, verified against its
	// digest and size, and make spec's new sandbox from it: restored
	// (Cloner.RestoreClone; memory true), or from files only created on
	// them and started (PackCreator). On failure nothing of it is left.
	RestoreSnapshotBlob(ctx context.Context, spec Spec, blob PausedBlob) (memory bool, err error)
}
