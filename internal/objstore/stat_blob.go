package objstore

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// StatBlob returns the size of blob digest in the object storage, or an
// error in errdefs.ErrNotFound when it is not there.
func (s *Store) StatBlob(ctx context.Context, digest string) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	info, err := s.client.StatObject(ctx, s.bucket, s.blobKey(digest), minio.StatObjectOptions{})
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", digest, classify(err))
	}
	return info.Size, nil
}
