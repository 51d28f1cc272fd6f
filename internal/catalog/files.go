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
	"path/filepath"
	"regexp"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// hashRE is a files hash as E2B's SDKs compute it: hex SHA-256.
var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// uploadTTL is how long an upload URL stays valid.
const uploadTTL = time.Hour

type upload struct {
	team, templateID, hash string
	expires                time.Time
	// busy is set while a PUT to the URL is received: one at a time.
	busy bool
}

// FileUpload answers E2B's GET /templates/{id}/files/{hash}: whether the
// team uploaded the files already, and if not, a token for the URL to PUT
// them to. Files are kept per team: another team's upload of the same
// hash is neither seen nor replaced. A team holds at most
// Limits.MaxUploadTokens unused upload URLs.
func (c *Catalog) FileUpload(ctx context.Context, team, templateID, hash string) (present bool, token string, err error) {
	if !hashRE.MatchString(hash) {
		return false, "", fmt.Errorf("files hash %q: want the 64 hex digits of a SHA-256: %w", hash, errdefs.ErrInvalidArgument)
	}
	if _, err := c.owned(ctx, team, templateID); err != nil {
		return false, "", err
	}
	c.filesMu.Lock()
	_ = c.collectFiles(filepath.Dir(c.filesPath(team, hash)), time.Now())
	_, serr := os.Stat(c.filesPath(team, hash))
	if serr == nil {
		touchFiles(c.filesPath(team, hash))
	}
	c.filesMu.Unlock()
	if serr == nil {
		return true, "", nil
	}
	token = newID("up")
	c.upMu.Lock()
	defer c.upMu.Unlock()
	now := time.Now()
	held := 0
	for k, u := range c.uploads {
		if now.After(u.expires) && !u.busy {
			delete(c.uploads, k)
		} else if u.team == team {
			held++
		}
	}
	if held >= c.limits.MaxUploadTokens {
		return false, "", fmt.Errorf("your team holds %d upload URLs that were neither used nor expired (the most it may); upload to them, or wait up to %v for them to expire: %w",
			held, uploadTTL, errdefs.ErrResourceExhausted)
	}
	c.uploads[token] = upload{team: team, templateID: templateID, hash: hash, expires: now.Add(uploadTTL)}
	return false, token, nil
}

// Upload stores the archive PUT to the upload URL of token. It must be a
// tar archive, gzipped or not, within the size limits; anything else is
// refused and nothing is kept. One PUT per URL runs at a time. Uploaded
// files never change: when the team's files for the hash are there
// already, the new archive is dropped and the first one kept.
func (c *Catalog) Upload(ctx context.Context, token string, body io.Reader) error {
	c.upMu.Lock()
	u, ok := c.uploads[token]
	switch {
	case !ok || time.Now().After(u.expires):
		c.upMu.Unlock()
		return fmt.Errorf("upload URL unknown or expired; ask GET /templates/{id}/files/{hash} for a new one: %w", errdefs.ErrNotFound)
	case u.busy:
		c.upMu.Unlock()
		return fmt.Errorf("an upload to this URL is already in progress; wait for it to end: %w", errdefs.ErrFailedPrecondition)
	}
	u.busy = true
	c.uploads[token] = u
	c.upMu.Unlock()
	done := false
	defer func() {
		c.upMu.Lock()
		defer c.upMu.Unlock()
		if done {
			delete(c.uploads, token)
			return
		}
		u.busy = false
		c.uploads[token] = u
	}()

	dir := filepath.Dir(c.filesPath(u.team, u.hash))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-")
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	defer os.Remove(tmp.Name())
	max := c.limits.MaxUploadBytes
	n, err := io.Copy(tmp, io.LimitReader(body, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("the upload is larger than %d bytes, the most one archive may be: %w: %w", max, ErrTooLarge, errdefs.ErrInvalidArgument)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errdefs.IsInvalidArgument(err) {
			return err
		}
		return fmt.Errorf("store upload: %w", err)
	}
	if err := checkArchive(tmp.Name(), c.limits.MaxFilesBytes); err != nil {
		return err
	}
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	if err := c.withinQuota(dir, tmp.Name(), n); err != nil {
		return err
	}
	// A link, unlike a rename, never replaces what is there: the first
	// complete upload of a hash stays.
	if err := os.Link(tmp.Name(), c.filesPath(u.team, u.hash)); errors.Is(err, os.ErrExist) {
		touchFiles(c.filesPath(u.team, u.hash))
	} else if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	done = true
	return nil
}

// syncDir makes a new name in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// checkArchive reads the archive at path through, failing unless it is a
// well-formed tar (optionally gzipped) that unpacks to at most max bytes.
func checkArchive(path string, max int64) error {
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
	// Counting what the decompressor yields stops a gzip bomb early; the
	// headers' sizes are what COPY writes.
	counted := &countingReader{r: r, left: max + 1}
	tr := tar.NewReader(counted)
	entries := 0
	var total int64
	for {
		hdr, err := tr.Next()
		if counted.left <= 0 {
			return tooMuch(max)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("uploaded files are not a valid tar archive: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		entries++
		if total += hdr.Size; total > max {
			return tooMuch(max)
		}
	}
	if entries == 0 {
		return fmt.Errorf("uploaded archive is empty: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

func tooMuch(max int64) error {
	return fmt.Errorf("the uploaded archive unpacks to more than %d bytes, the most one COPY step's files may be: %w: %w", max, ErrTooLarge, errdefs.ErrInvalidArgument)
}

// countingReader reads r while left is positive.
type countingReader struct {
	r    io.Reader
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// openFiles opens the archive team uploaded for hash.
func (c *Catalog) openFiles(team, hash string) (io.ReadCloser, error) {
	if !hashRE.MatchString(hash) {
		return nil, fmt.Errorf("files hash %q: %w", hash, errdefs.ErrInvalidArgument)
	}
	f, err := os.Open(c.filesPath(team, hash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no files were uploaded for hash %s: upload them first (GET /templates/{id}/files/{hash}): %w", hash, errdefs.ErrInvalidArgument)
	}
	return f, err
}

// sweepUploads removes what uploads a previous process was receiving
// when it stopped.
func sweepUploads(dir string) error {
	left, err := filepath.Glob(filepath.Join(dir, "*", ".upload-*"))
	if err != nil {
		return err
	}
	root, _ := filepath.Glob(filepath.Join(dir, ".upload-*"))
	for _, f := range append(left, root...) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("template files: %w", err)
		}
	}
	return nil
}
