package objstore

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// DeleteBlob removes blob digest from the object storage; removing one
// that is not there is not an error. Only a blob one owner alone refers
// to may be deleted (a checkpoint, which names its sandbox); layers are
// shared and never deleted here.
func (s *Store) DeleteBlob(ctx context.Context, digest string) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if !ValidDigest(digest) {
		return fmt.Errorf("blob digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.blobKey(digest), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete blob %s: %w", digest, classify(err))
	}
	return nil
}
