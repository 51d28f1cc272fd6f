package store

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CheckpointObject records that a paused sandbox's checkpoint is in
// object storage, beside (or instead of) the node's own disk: a resume
// whose local checkpoint is gone fetches this blob first.
type CheckpointObject struct {
	SandboxID string
	// Digest is the blob's content digest, "sha256:<hex>".
	Digest string
	// Size is the blob's length in bytes.
	Size int64
	// StoredAt is when the upload completed.
	StoredAt time.Time
}

// CheckpointObjects records where paused sandboxes' checkpoints are in
// object storage. It is part of Store.
type CheckpointObjects interface {
	// SetCheckpointObject records o, replacing the sandbox's earlier
	// record. The sandbox must exist and not have ended
	// (ErrFailedPrecondition); a zero StoredAt is the store's current
	// time.
	SetCheckpointObject(ctx context.Context, o CheckpointObject) error
	// CheckpointObject returns the sandbox's record; ErrNotFound when it
	// has none.
	CheckpointObject(ctx context.Context, sandboxID string) (CheckpointObject, error)
	// DeleteCheckpointObject removes the sandbox's record; removing none
	// is not an error.
	DeleteCheckpointObject(ctx context.Context, sandboxID string) error
}

var checkpointDigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidateCheckpointObject checks a record given to SetCheckpointObject.
func ValidateCheckpointObject(o CheckpointObject) error {
	if err := ValidateID(o.SandboxID); err != nil {
		return err
	}
	if !checkpointDigestRE.MatchString(o.Digest) {
		return fmt.Errorf("checkpoint digest %q: want sha256:<64 hex digits>: %w", o.Digest, errdefs.ErrInvalidArgument)
	}
	if o.Size <= 0 {
		return fmt.Errorf("checkpoint size %d: must be positive: %w", o.Size, errdefs.ErrInvalidArgument)
	}
	return nil
}
