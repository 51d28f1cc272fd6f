package layer

import (
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

// blobDir holds the store's blob records: for each layer pushed to or
// fetched from the remote, the archive it is there, as "<digest> <size>".
const blobDir = ".blobs"

// setBlob records that layer digest is archive b in the remote. The
// record is durable when setBlob returns.
func (s *Store) setBlob(digest string, b Blob) error {
	if !ValidDigest(digest) || !b.Valid() {
		return fmt.Errorf("layer %s blob %q: %w", digest, b.Digest, errdefs.ErrInvalidArgument)
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
// store pushed it there (or fetched it from there): what another host
// must be given to fetch exactly this layer.
func (s *Store) Blob(digest string) (Blob, bool) {
	if !ValidDigest(digest) {
		return Blob{}, false
	}
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

// RecordBlob records that layer digest, which another host made and
// pushed, is archive b in the remote, as a push from this store would:
// this host then names the layer to others by b without holding it. The
// record is durable when RecordBlob returns.
func (s *Store) RecordBlob(digest string, b Blob) error { return s.setBlob(digest, b) }
