package objstore

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// tarFlags keep everything a layer or a checkpoint holds: owners by
// number, modes, extended attributes of every namespace (overlayfs's
// trusted.overlay.opaque among them), device nodes (overlayfs's
// whiteouts), hard links and holes.
var tarFlags = []string{"--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--sparse"}

// createFlags make the archive of an unchanged directory the same bytes
// each time, so that it is the same blob: entries in name order, and no
// access or change times (which reading the tree itself moves).
var createFlags = []string{"--format=posix", "--sort=name", "--pax-option=delete=atime,delete=ctime"}

// UploadDir archives the directory dir and uploads the archive as a blob,
// unless the object storage has it already. The archive is written to a
// temporary file in tmpDir while it is hashed, so its digest (its object
// name) is known before the upload and nothing is held in memory; the file
// is removed afterwards. It returns the blob's ref and whether it was
// sent.
func (s *Store) UploadDir(ctx context.Context, dir, tmpDir string) (Ref, bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	f, err := os.CreateTemp(tmpDir, ".upload-*.tar")
	if err != nil {
		return Ref{}, false, fmt.Errorf("archive %s: %w", dir, err)
	}
	defer removeQuietly(f.Name())
	defer f.Close()
	h := sha256.New()
	cmd := exec.CommandContext(ctx, "tar", append(append(append([]string{"-C", dir, "-cf", "-"}, tarFlags...), createFlags...), ".")...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(f, h), &stderr
	if err := cmd.Run(); err != nil {
		return Ref{}, false, fmt.Errorf("archive %s: %w: %s", dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	fi, err := f.Stat()
	if err != nil {
		return Ref{}, false, fmt.Errorf("archive %s: %w", dir, err)
	}
	ref := Ref{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: fi.Size()}
	sent, err := s.PutBlob(ctx, ref.Digest, f.Name(), ref.Size)
	return ref, sent, err
}

// DownloadDir fetches the archive blob ref into a temporary file in
// tmpDir, verifies it, and only then unpacks it into into, an existing
// empty directory. A blob that fails its digest leaves into untouched.
func (s *Store) DownloadDir(ctx context.Context, ref Ref, into, tmpDir string) error {
	return s.DownloadDirChecked(ctx, ref, into, tmpDir, nil)
}

// DownloadDirChecked is DownloadDir refusing, before anything is
// unpacked, an archive one of whose entries check refuses (nil: none).
func (s *Store) DownloadDirChecked(ctx context.Context, ref Ref, into, tmpDir string, check func(*tar.Header) error) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	f, err := os.CreateTemp(tmpDir, ".download-*.tar")
	if err != nil {
		return fmt.Errorf("download %s: %w", ref.Digest, err)
	}
	defer removeQuietly(f.Name())
	defer f.Close()
	if err := s.GetBlob(ctx, ref.Digest, ref.Size, f); err != nil {
		return err
	}
	if check != nil {
		if err := checkArchive(f, ref.Digest, check); err != nil {
			return err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download %s: %w", ref.Digest, err)
	}
	cmd := exec.CommandContext(ctx, "tar", append(append([]string{"-C", into, "-xpf", "-"}, tarFlags...), "--same-owner")...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stderr = f, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("unpack %s into %s: %w: %s", ref.Digest, into, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// checkArchive reads the archive in f from its start and passes each
// entry's header to check.
func checkArchive(f *os.File, digest string, check func(*tar.Header) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download %s: %w", digest, err)
	}
	r := tar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blob %s is not a readable archive: %w: %w", digest, err, errdefs.ErrFailedPrecondition)
		}
		if err := check(h); err != nil {
			return fmt.Errorf("blob %s: %w", digest, err)
		}
	}
}
