// Package layer keeps the read-only root-filesystem layers templates are
// stacked from, on disk and shared: each layer is a directory named by its
// digest (an OCI layer's diff id, or the hash of what a build step was
// given: its parent, the step and the files it copied), so two templates
// that share a base or a step share its directory. Layers are written once,
// into a hidden directory renamed into place when complete, and never
// changed after. An alias (SetAlias) records another name a layer is
// known by, such as where an image layer was verified to come from.
//
// A layer is in overlayfs's own format, so the runtime can stack layers as
// lower directories as they are: a deleted file is a 0:0 character device,
// a directory that hides what lies below carries trusted.overlay.opaque.
package layer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sync/singleflight"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Store is a directory of layers.
type Store struct {
	dir    string
	remote Remote         // nil: none; see SetRemote
	pushes sync.WaitGroup // pushes to the remote under way
	// fetches are the fetches from the remote under way, by digest.
	fetches singleflight.Group
	// pushing are the pushes to the remote under way, by digest.
	pushing singleflight.Group
	// records keeps the blob records; nil: files in dir (see
	// UseBlobRecords).
	records BlobRecords
}

// digestRE is what a layer digest looks like: an algorithm and a hex hash.
var digestRE = regexp.MustCompile(`^(sha256|sha512|key)-[0-9a-f]{16,128}$`)

// ValidDigest reports whether d can name a layer directory.
func ValidDigest(d string) bool { return digestRE.MatchString(d) }

// New returns the store in dir, creating it.
func New(dir string) (*Store, error) {
	// 0700: layers hold what untrusted builds made, setuid-root files
	// included, owned by the sandboxes' own ids; no user of the host may
	// reach them. Sandboxes see them only through the idmapped mounts the
	// driver makes as root.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("layer store %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("layer store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Path is where layer digest is (or would be).
func (s *Store) Path(digest string) string { return filepath.Join(s.dir, digest) }

// Has reports whether layer digest is installed.
func (s *Store) Has(digest string) bool {
	fi, err := os.Lstat(s.Path(digest))
	return err == nil && fi.IsDir()
}

// Install makes layer digest by calling fill with an empty directory, then
// moving that directory into place. An installed layer is kept as it is:
// fill is not called. A failed fill leaves nothing.
//
// With a remote (SetRemote), a layer this call installed is pushed to it
// in the background: a build, or a snapshot whose sandbox is frozen
// meanwhile, does not wait for the upload (WaitPushes does).
func (s *Store) Install(digest string, fill func(dir string) error) error {
	return s.install(digest, true, fill)
}

// install is Install, pushing the new layer to the remote when push is
// set (not for a layer that came from it).
func (s *Store) install(digest string, push bool, fill func(dir string) error) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("layer digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	if s.Has(digest) {
		return nil
	}
	tmp, err := os.MkdirTemp(s.dir, ".new-")
	if err != nil {
		return fmt.Errorf("layer %s: %w", digest, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("layer %s: %w", digest, err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, s.Path(digest)); err != nil {
		os.RemoveAll(tmp)
		if s.Has(digest) { // another build installed it meanwhile
			return nil
		}
		return fmt.Errorf("layer %s: %w", digest, err)
	}
	if push && s.remote != nil {
		s.pushes.Add(1)
		go func() {
			defer s.pushes.Done()
			s.push(digest)
		}()
	}
	return nil
}

// push pushes installed layer digest to the remote and records the
// archive it is there (Blob): a layer whose push failed has none, and is
// named to no other host.
func (s *Store) push(digest string) {
	ctx := context.Background()
	s.pushing.Do(digest, func() (any, error) {
		if _, ok, err := s.Blob(ctx, digest); ok || err != nil || !s.Has(digest) {
			// A record that could not be read: left to the next
			// PushMissing.
			return nil, nil
		}
		b, err := s.remote.Push(ctx, digest, s.Path(digest))
		if err != nil {
			return nil, nil // the remote reported it
		}
		// None recorded: named to no other host, as if not pushed.
		return nil, s.setBlob(ctx, digest, b)
	})
}

// PushMissing pushes to the remote, in the background, each of digests
// that is installed here but has no Blob recorded: a layer installed
// before the store had a remote, or whose push failed. A layer already
// on its way is not pushed twice. WaitPushes waits for them.
func (s *Store) PushMissing(ctx context.Context, digests ...string) {
	if s.remote == nil {
		return
	}
	for _, d := range digests {
		if !s.Has(d) {
			continue
		}
		if _, ok, err := s.Blob(ctx, d); ok || err != nil {
			continue
		}
		s.pushes.Add(1)
		go func() {
			defer s.pushes.Done()
			s.push(d)
		}()
	}
}

// WaitPushes waits for the pushes to the remote under way, or until ctx
// is done (a shutdown's bound), whose error it then returns: each push
// has its own deadline (the remote's), and one cut short by the process
// ending leaves the layer on this host only.
func (s *Store) WaitPushes(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.pushes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("layers still on their way to object storage: %w", ctx.Err())
	}
}

// Sweep removes leftovers of installs that never finished (a crash).
func (s *Store) Sweep() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("layer store: %w", err)
	}
	for _, e := range entries {
		// .new-: an install; .upload-, .download-: a remote's archive
		// of a layer on its way.
		if n := e.Name(); strings.HasPrefix(n, ".new-") || strings.HasPrefix(n, ".upload-") || strings.HasPrefix(n, ".download-") {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return fmt.Errorf("layer store: %w", err)
			}
		}
	}
	return nil
}

// List returns the digests of every installed layer.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("layer store: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && ValidDigest(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Remove deletes layer digest and its blob record.
func (s *Store) Remove(ctx context.Context, digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("layer digest %q: %w", digest, errdefs.ErrInvalidArgument)
	}
	if err := os.RemoveAll(s.Path(digest)); err != nil {
		return fmt.Errorf("remove layer %s: %w", digest, err)
	}
	if err := s.removeBlob(ctx, digest); err != nil {
		return fmt.Errorf("remove layer %s: %w", digest, err)
	}
	return nil
}

// Size returns the bytes layer digest occupies on disk.
func (s *Store) Size(digest string) (int64, error) {
	return DiskUsage(s.Path(digest))
}

// DiskUsage returns the bytes the tree at root occupies on disk, counting
// hard-linked files once.
func DiskUsage(root string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		k := inode{uint64(st.Dev), st.Ino}
		if seen[k] {
			return nil
		}
		seen[k] = true
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", root, err)
	}
	return total, nil
}

// aliasDir holds the store's aliases: names a layer is known by besides
// its digest, each a file holding the digest.
const aliasDir = ".aliases"

// SetAlias records that name refers to layer digest. Both must be valid
// digests. The record is durable when SetAlias returns.
func (s *Store) SetAlias(name, digest string) error {
	if !ValidDigest(name) || !ValidDigest(digest) {
		return fmt.Errorf("layer alias %q -> %q: %w", name, digest, errdefs.ErrInvalidArgument)
	}
	dir := filepath.Join(s.dir, aliasDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("layer alias: %w", err)
	}
	f, err := os.CreateTemp(dir, ".new-")
	if err != nil {
		return fmt.Errorf("layer alias: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(digest)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return fmt.Errorf("layer alias: %w", err)
	}
	return nil
}

// Alias returns the layer digest recorded for name, if any. The layer
// itself may have been removed since.
func (s *Store) Alias(name string) (string, bool) {
	if !ValidDigest(name) {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(s.dir, aliasDir, name))
	if err != nil || !ValidDigest(string(b)) {
		return "", false
	}
	return string(b), true
}
