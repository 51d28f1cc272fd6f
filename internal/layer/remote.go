package layer

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Remote is a store of layers shared with other hosts (object storage): a
// layer installed here is pushed to it, and a layer missing here is
// fetched from it.
type Remote interface {
	// Push stores installed layer digest, whose directory is dir, and
	// returns the archive it is there. It runs in the background; a
	// failure is the remote's to report: the layer stays installed here,
	// with no Blob recorded.
	Push(ctx context.Context, digest, dir string) (Blob, error)
	// Fetch fills the empty directory into with layer digest from
	// archive want, which the download must match byte for byte. With
	// want zero it is the archive the remote's own record for digest
	// names, which only a host that writes the remote itself may trust.
	// It returns the archive fetched; an error in errdefs.ErrNotFound
	// when the remote lacks it.
	Fetch(ctx context.Context, digest string, want Blob, into string) (Blob, error)
}

// SetRemote makes r the store's remote: every layer installed from now on
// is pushed to it, and Fetch fetches from it. Call it before the store is
// in use.
func (s *Store) SetRemote(r Remote) { s.remote = r }

// HasRemote reports whether the store has a remote: whether its layers
// are shared with other hosts.
func (s *Store) HasRemote() bool { return s.remote != nil }

// Fetch installs layer digest from the remote unless it is installed
// already. Like Install, a failed fetch leaves nothing.
func (s *Store) Fetch(ctx context.Context, digest string) error {
	return s.FetchVerified(ctx, digest, Blob{}, false)
}

// FetchVerified is Fetch of layer digest from archive want: the download
// must be that very archive, which whoever named want (the control
// plane, which pushed it) vouches for, so that no other writer of the
// object storage can change what is installed. With want zero, the
// remote's own record of the layer is trusted: only for a host that
// writes the remote itself. With tree set, digest is also the layer's
// TreeDigest (a snapshot's files or checkpoint), which the fetched tree
// must hash to before it is installed.
func (s *Store) FetchVerified(ctx context.Context, digest string, want Blob, tree bool) error {
	if s.Has(digest) {
		return nil
	}
	if s.remote == nil {
		return fmt.Errorf("layer %s is not on this host and no object storage is configured to fetch it from: %w", digest, errdefs.ErrNotFound)
	}
	// Creates that miss the same layer together download it once. The
	// download outlives a caller that gives up (each object storage
	// call has its own deadline), so the others still get it.
	if !want.IsZero() && !want.Valid() {
		return fmt.Errorf("layer %s: archive %q of %d bytes is not a blob digest and size: %w", digest, want.Digest, want.Size, errdefs.ErrInvalidArgument)
	}
	ch := s.fetches.DoChan(digest+" "+want.Digest, func() (any, error) {
		return nil, s.fetch(context.WithoutCancel(ctx), digest, want, tree)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return fmt.Errorf("layer %s: %w", digest, ctx.Err())
	}
}

// fetch is FetchVerified, once per digest at a time.
func (s *Store) fetch(ctx context.Context, digest string, want Blob, tree bool) error {
	if s.Has(digest) {
		return nil
	}
	var got Blob
	err := s.install(digest, false, func(dir string) error {
		var err error
		if got, err = s.remote.Fetch(ctx, digest, want, dir); err != nil {
			return fmt.Errorf("layer %s is not on this host; fetching it from object storage: %w", digest, err)
		}
		if tree {
			got, err := TreeDigest(dir)
			if err != nil {
				return fmt.Errorf("layer %s fetched from object storage: %w", digest, err)
			}
			if got != digest {
				return fmt.Errorf("layer %s fetched from object storage hashes to %s once unpacked: refused: %w", digest, got, errdefs.ErrFailedPrecondition)
			}
		}
		// On disk before it is renamed into place: after a crash a
		// layer is there complete or not at all, never a directory
		// whose files the crash emptied (a layer is never checked
		// again once installed).
		return durable.SyncFS(dir)
	})
	if err != nil {
		return err
	}
	if err := durable.SyncDir(s.dir); err != nil {
		return err
	}
	// Where it came from, so that this host can name it to others.
	return s.setBlob(ctx, digest, got)
}
