package runtime

import "context"

// CheckpointKeeper is the optional ability of a driver that keeps its
// sandboxes' checkpoints in storage of its own, which its caller cannot
// name a path in: a joined node's driver, whose checkpoints live in the
// node's data directory. A sandbox has at most one kept checkpoint.
type CheckpointKeeper interface {
	// KeepCheckpoint checkpoints sandbox id as Checkpointer.Checkpoint
	// does, into the driver's own storage, and reports the size the
	// checkpoint takes there, in bytes. A kept checkpoint of a running
	// sandbox is stale and replaced. On failure the sandbox keeps
	// running.
	KeepCheckpoint(ctx context.Context, id string) (size int64, err error)
	// RestoreKept brings sandbox id back from its kept checkpoint, as
	// Checkpointer.Restore does, and removes the checkpoint once it
	// runs. Errors: ErrNotFound when no complete checkpoint is kept,
	// ErrFailedPrecondition when the sandbox is not stopped.
	RestoreKept(ctx context.Context, id string) error
	// KeptCheckpoint reports whether a complete checkpoint of sandbox
	// id is kept, and its size in bytes.
	KeptCheckpoint(ctx context.Context, id string) (size int64, ok bool, err error)
	// DropCheckpoint removes sandbox id's kept checkpoint, complete or
	// not; none is not an error.
	DropCheckpoint(ctx context.Context, id string) error
}

// CloneKeeper is the optional ability of a driver that keeps clone
// checkpoints (see Cloner) in storage of its own, named by the driver:
// a joined node's, whose forks are restored on the node.
type CloneKeeper interface {
	// KeepClone saves running sandbox id as Cloner.CheckpointClone does
	// and returns the kept clone checkpoint's name; the sandbox runs on.
	KeepClone(ctx context.Context, id string) (name string, err error)
	// RestoreKeptClone creates sandbox spec.ID from the named clone
	// checkpoint as Cloner.RestoreClone does, on the same driver.
	RestoreKeptClone(ctx context.Context, spec Spec, name string) error
	// DropClone removes the named clone checkpoint, made of sandbox id.
	DropClone(ctx context.Context, id, name string) error
}
