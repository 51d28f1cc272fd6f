package objstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Ref names a blob: its digest and size.
type Ref struct {
	Digest string
	Size   int64
}

// String is the ref as stored: "<digest> <size>".
func (r Ref) String() string { return r.Digest + " " + strconv.FormatInt(r.Size, 10) }

// ParseRef reads a ref written by String.
func ParseRef(s string) (Ref, error) {
	d, n, ok := strings.Cut(strings.TrimSpace(s), " ")
	size, err := strconv.ParseInt(n, 10, 64)
	if !ok || !ValidDigest(d) || err != nil || size < 0 {
		return Ref{}, fmt.Errorf("blob ref %q: want \"sha256:<hex> <size>\": %w", s, errdefs.ErrFailedPrecondition)
	}
	return Ref{Digest: d, Size: size}, nil
}

// refNameRE is what a ref name looks like: a kind and a name, such as
// "layers/sha256-…".
var refNameRE = regexp.MustCompile(`^[a-z]+/[A-Za-z0-9_.\-]{1,200}$`)

// PutRef records that name refers to ref.
func (s *Store) PutRef(ctx context.Context, name string, ref Ref) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if !refNameRE.MatchString(name) {
		return fmt.Errorf("ref name %q: %w", name, errdefs.ErrInvalidArgument)
	}
	b := []byte(ref.String())
	if _, err := s.client.PutObject(ctx, s.bucket, s.key("refs", name), bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		return fmt.Errorf("record ref %s: %w", name, classify(err))
	}
	return nil
}

// GetRef returns the blob name refers to; an error in
// errdefs.ErrNotFound when there is no such ref.
func (s *Store) GetRef(ctx context.Context, name string) (Ref, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if !refNameRE.MatchString(name) {
		return Ref{}, fmt.Errorf("ref name %q: %w", name, errdefs.ErrInvalidArgument)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.key("refs", name), minio.GetObjectOptions{})
	if err != nil {
		return Ref{}, fmt.Errorf("ref %s: %w", name, classify(err))
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 512))
	if err != nil {
		return Ref{}, fmt.Errorf("ref %s: %w", name, classify(err))
	}
	return ParseRef(string(b))
}
