package objstore

import (
	"context"
	"fmt"
	"os"

	"github.com/minio/minio-go/v7"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// PutBlob uploads the file at path as blob digest, of size bytes, unless
// the object storage holds it already (blobs are content-addressed: the
// same digest is the same bytes). The caller has computed digest from the
// file. It reports whether anything was sent.
func (s *Store) PutBlob(ctx context.Context, digest, path string, size int64) (sent bool, err error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if !ValidDigest(digest) {
		return false, fmt.Errorf("blob digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	if have, err := s.StatBlob(ctx, digest); err == nil && have == size {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("upload blob %s: %w", digest, err)
	}
	defer f.Close()
	// With the size known, minio-go streams the file in parts of its
	// choosing, reading each from the file as it goes.
	_, err = s.client.PutObject(ctx, s.bucket, s.blobKey(digest), f, size, minio.PutObjectOptions{
		ContentType: "application/x-tar",
		// SHA-256 of the whole upload, recorded beside the object for
		// anyone inspecting the bucket; downloads check the name.
		UserMetadata: map[string]string{"soulbox-digest": digest},
	})
	if err != nil {
		return false, fmt.Errorf("upload blob %s: %w", digest, classify(err))
	}
	return true, nil
}
