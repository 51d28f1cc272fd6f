package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// GetBlob streams blob digest, of size bytes, into w, hashing it on the
// way. An object of another size or another digest (corrupted or
// truncated in the object storage or on the way) is an error in
// errdefs.ErrFailedPrecondition, and what was written to w must then be
// thrown away: the caller writes to a temporary file and installs only
// after GetBlob returned nil.
func (s *Store) GetBlob(ctx context.Context, digest string, size int64, w io.Writer) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if !ValidDigest(digest) {
		return fmt.Errorf("blob digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.blobKey(digest), minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("download blob %s: %w", digest, classify(err))
	}
	defer obj.Close()
	h := sha256.New()
	// One byte more than expected: a longer object is refused too.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(obj, size+1))
	if err != nil {
		return fmt.Errorf("download blob %s: %w", digest, classify(err))
	}
	if n != size {
		return fmt.Errorf("blob %s in the object storage is %d bytes, not the %d recorded: refused: %w", digest, n, size, errdefs.ErrFailedPrecondition)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("blob %s in the object storage hashes to %s (corrupted): refused: %w", digest, got, errdefs.ErrFailedPrecondition)
	}
	return nil
}
