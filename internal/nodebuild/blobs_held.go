package nodebuild

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// checkHeld checks that object storage holds each archive a node named
// for the layers it built, at the size it named: the catalog records
// them for every later create, so an archive the node never uploaded
// (or cut short) would make a template ready that no node can start.
// The archive's content is verified by each node that fetches it.
func (b *Builder) checkHeld(ctx context.Context, node string, res builder.Result) error {
	if len(res.Blobs) == 0 {
		return nil
	}
	if b.cfg.Objects == nil {
		return fmt.Errorf("no object storage to check the archives of node %s's layers in: %w", node, errdefs.ErrFailedPrecondition)
	}
	for d, blob := range res.Blobs {
		size, err := b.cfg.Objects.StatBlob(ctx, blob.Digest)
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("node %s named archive %s for layer %s, which object storage does not hold: %w", node, blob.Digest, d, errdefs.ErrUnavailable)
		}
		if err != nil {
			return fmt.Errorf("archive %s of layer %s: %w", blob.Digest, d, err)
		}
		if size != blob.Size {
			return fmt.Errorf("node %s named archive %s for layer %s as %d bytes; object storage holds %d: %w", node, blob.Digest, d, blob.Size, size, errdefs.ErrUnavailable)
		}
	}
	return nil
}
