package layer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Blob is the archive a layer is kept as in a remote (object storage):
// its content digest ("sha256:<hex>") and size. A layer fetched by its
// Blob is the very archive that was pushed, whoever else can write to
// the remote.
type Blob struct {
	Digest string `json:"blob"`
	Size   int64  `json:"size"`
}

// blobDigestRE is what a blob digest looks like.
var blobDigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Valid reports whether b names an archive: a sha256 digest and a size.
func (b Blob) Valid() bool { return blobDigestRE.MatchString(b.Digest) && b.Size >= 0 }

// IsZero reports whether b names nothing.
func (b Blob) IsZero() bool { return b == Blob{} }

// BlobRecords keeps a store's blob records (which archive each layer is
// in the remote) somewhere other hosts read too: the control plane's
// store, shared by its replicas, so that any of them names to nodes the
// layers another pushed or had a node build. Without it (a joined
// node) the records are files in the store's own directory.
type BlobRecords interface {
	// AddBlob records that layer digest is archive b, unless the layer
	// has a record already, and returns the record kept: the first one
	// stays. The record is durable when AddBlob returns.
	AddBlob(ctx context.Context, digest string, b Blob) (Blob, error)
	// Blob returns the record of layer digest; false when it has none.
	Blob(ctx context.Context, digest string) (Blob, bool, error)
	// DeleteBlob removes the record of layer digest, if any.
	DeleteBlob(ctx context.Context, digest string) error
}

// blobDir holds the store's own blob records: for each layer pushed to or
// fetched from the remote, the archive it is there, as "<digest> <size>".
const blobDir = ".blobs"

// UseBlobRecords makes r where the store's blob records are kept, moving
// the records kept in its directory so far (a server upgraded from when
// they were kept there) into r first: each is added (the first record
// of a layer stays) and then removed here, so a move cut short is
// finished by the next. Call it before the store is in use.
func (s *Store) UseBlobRecords(ctx context.Context, r BlobRecords) error {
	dir := filepath.Join(s.dir, blobDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("layer blob records: %w", err)
	}
	for _, e := range entries {
		d := e.Name()
		if !ValidDigest(d) {
			// A record write cut short (".new-"), or not ours.
			if strings.HasPrefix(d, ".new-") {
				os.Remove(filepath.Join(dir, d))
			}
			continue
		}
		if b, ok := s.fileBlob(d); ok {
			if _, err := r.AddBlob(ctx, d, b); err != nil {
				return fmt.Errorf("move the record of layer %s into the store: %w", d, err)
			}
		}
		if err := os.Remove(filepath.Join(dir, d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("layer blob records: %w", err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("layer blob records: %w", err)
	}
	s.records = r
	return nil
}

// setBlob records that layer digest is archive b in the remote, unless
// records shared with other hosts have one already. The record is
// durable when setBlob returns.
func (s *Store) setBlob(ctx context.Context, digest string, b Blob) error {
	if !ValidDigest(digest) || !b.Valid() {
		return fmt.Errorf("layer %s blob %q: %w", digest, b.Digest, errdefs.ErrInvalidArgument)
	}
	if s.records != nil {
		if _, err := s.records.AddBlob(ctx, digest, b); err != nil {
			return fmt.Errorf("layer %s blob record: %w", digest, err)
		}
		return nil
	}
	dir := filepath.Join(s.dir, blobDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("layer blob record: %w", err)
	}
	f, err := os.CreateTemp(dir, ".new-")
	if err != nil {
		return fmt.Errorf("layer blob record: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(b.Digest + " " + strconv.FormatInt(b.Size, 10))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, digest))
	}
	if err != nil {
		return fmt.Errorf("layer blob record: %w", err)
	}
	return nil
}

// Blob returns the archive layer digest is in the remote, when this
// store (or, with shared records, any host that shares them) pushed it
// there or fetched it from there: what another host must be given to
// fetch exactly this layer. The error is the records' failure to answer.
func (s *Store) Blob(ctx context.Context, digest string) (Blob, bool, error) {
	if !ValidDigest(digest) {
		return Blob{}, false, nil
	}
	if s.records != nil {
		b, ok, err := s.records.Blob(ctx, digest)
		if err != nil {
			return Blob{}, false, fmt.Errorf("layer %s blob record: %w", digest, err)
		}
		return b, ok, nil
	}
	b, ok := s.fileBlob(digest)
	return b, ok, nil
}

// fileBlob is the blob record of layer digest in the store's directory.
func (s *Store) fileBlob(digest string) (Blob, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, blobDir, digest))
	if err != nil {
		return Blob{}, false
	}
	d, n, _ := strings.Cut(string(b), " ")
	size, err := strconv.ParseInt(n, 10, 64)
	out := Blob{Digest: d, Size: size}
	if err != nil || !out.Valid() {
		return Blob{}, false
	}
	return out, true
}

// removeBlob removes the blob record of layer digest.
func (s *Store) removeBlob(ctx context.Context, digest string) error {
	if s.records != nil {
		return s.records.DeleteBlob(ctx, digest)
	}
	if err := os.Remove(filepath.Join(s.dir, blobDir, digest)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// RecordBlob records that layer digest, which another host made and
// pushed, is archive b in the remote, as a push from this store would:
// this host then names the layer to others by b without holding it. The
// record is durable when RecordBlob returns.
func (s *Store) RecordBlob(ctx context.Context, digest string, b Blob) error {
	return s.setBlob(ctx, digest, b)
}
