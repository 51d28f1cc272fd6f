package catalog

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// hashRE is a files hash as E2B's SDKs compute it: hex SHA-256.
var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// uploadTTL is how long an upload URL stays valid.
const uploadTTL = time.Hour

// MaxUpload bounds one uploaded archive.
const MaxUpload = 4 << 30

type upload struct {
	templateID, hash string
	expires          time.Time
}

// FileUpload answers E2B's GET /templates/{id}/files/{hash}: whether the
// files are present, and if not, a token for the URL to PUT them to.
func (c *Catalog) FileUpload(ctx context.Context, team, templateID, hash string) (present bool, token string, err error) {
	if !hashRE.MatchString(hash) {
		return false, "", fmt.Errorf("files hash %q: want the 64 hex digits of a SHA-256: %w", hash, errdefs.ErrInvalidArgument)
	}
	if _, err := c.owned(ctx, team, templateID); err != nil {
		return false, "", err
	}
	if _, err := os.Stat(c.filesPath(hash)); err == nil {
		return true, "", nil
	}
	token = newID("up")
	c.upMu.Lock()
	defer c.upMu.Unlock()
	now := time.Now()
	for k, u := range c.uploads {
		if now.After(u.expires) {
			delete(c.uploads, k)
		}
	}
	c.uploads[token] = upload{templateID: templateID, hash: hash, expires: now.Add(uploadTTL)}
	return false, token, nil
}

// Upload stores the archive PUT to the upload URL of token. It must be a
// tar archive, gzipped or not; anything else is refused and nothing is
// kept.
func (c *Catalog) Upload(ctx context.Context, token string, body io.Reader) error {
	c.upMu.Lock()
	u, ok := c.uploads[token]
	c.upMu.Unlock()
	if !ok || time.Now().After(u.expires) {
		return fmt.Errorf("upload URL unknown or expired; ask GET /templates/{id}/files/{hash} for a new one: %w", errdefs.ErrNotFound)
	}
	tmp, err := os.CreateTemp(c.files, ".upload-")
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(body, MaxUpload+1))
	if err == nil && n > MaxUpload {
		err = fmt.Errorf("upload larger than %d bytes: %w", int64(MaxUpload), errdefs.ErrInvalidArgument)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	if err := checkArchive(tmp.Name()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.filesPath(u.hash)); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	c.upMu.Lock()
	delete(c.uploads, token)
	c.upMu.Unlock()
	return nil
}

// checkArchive reads the archive at path through, failing unless it is a
// well-formed tar (optionally gzipped).
func checkArchive(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("uploaded files are not a valid gzip archive: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	entries := 0
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("uploaded files are not a valid tar archive: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		entries++
	}
	if entries == 0 {
		return fmt.Errorf("uploaded archive is empty: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// openFiles opens the archive uploaded for hash.
func (c *Catalog) openFiles(hash string) (io.ReadCloser, error) {
	if !hashRE.MatchString(hash) {
		return nil, fmt.Errorf("files hash %q: %w", hash, errdefs.ErrInvalidArgument)
	}
	f, err := os.Open(c.filesPath(hash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no files were uploaded for hash %s: upload them first (GET /templates/{id}/files/{hash}): %w", hash, errdefs.ErrInvalidArgument)
	}
	return f, err
}
