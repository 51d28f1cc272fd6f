package objstore_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/testutil"
)

const bucket = "soulbox"

// layerLike makes a directory holding what a layer holds: an owned file,
// a hard link, an overlayfs whiteout and an opaque directory.
func layerLike(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "file"), []byte("layer bytes"), 0o755))
	must(os.Chown(filepath.Join(dir, "file"), 100123, 100456))
	must(os.Chmod(filepath.Join(dir, "file"), os.ModeSetuid|0o755)) // chown drops setuid
	must(os.Link(filepath.Join(dir, "file"), filepath.Join(dir, "link")))
	must(unix.Mknod(filepath.Join(dir, "gone"), unix.S_IFCHR, 0))
	must(os.Mkdir(filepath.Join(dir, "opaque"), 0o755))
	must(unix.Setxattr(filepath.Join(dir, "opaque"), "trusted.overlay.opaque", []byte("y"), 0))
	return dir
}

func open(t *testing.T, s *s3test.Server) *objstore.Store {
	t.Helper()
	st, err := objstore.Open(context.Background(), s.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDirRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	srv := s3test.Start(t, bucket)
	st := open(t, srv)
	ctx := context.Background()
	src := layerLike(t)
	ref, sent, err := st.UploadDir(ctx, src, t.TempDir())
	if err != nil || !sent {
		t.Fatalf("upload: sent %v, %v", sent, err)
	}
	// The same content is the same blob: not sent again.
	if again, sent, err := st.UploadDir(ctx, src, t.TempDir()); err != nil || sent || again != ref {
		t.Fatalf("second upload: %v sent %v, %v; want %v unsent", again, sent, err, ref)
	}
	if err := st.PutRef(ctx, "layers/sha256-0123456789abcdef", ref); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetRef(ctx, "layers/sha256-0123456789abcdef")
	if err != nil || got != ref {
		t.Fatalf("ref: %v, %v; want %v", got, err, ref)
	}
	into := t.TempDir()
	if err := st.DownloadDir(ctx, ref, into, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var fst, lst unix.Stat_t
	if err := unix.Lstat(filepath.Join(into, "file"), &fst); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(filepath.Join(into, "link"), &lst); err != nil {
		t.Fatal(err)
	}
	if fst.Uid != 100123 || fst.Gid != 100456 || fst.Mode&0o7777 != 0o4755 || fst.Ino != lst.Ino {
		t.Fatalf("file: uid %d gid %d mode %o, link same inode %v", fst.Uid, fst.Gid, fst.Mode&0o7777, fst.Ino == lst.Ino)
	}
	var wst unix.Stat_t
	if err := unix.Lstat(filepath.Join(into, "gone"), &wst); err != nil || wst.Mode&unix.S_IFMT != unix.S_IFCHR || wst.Rdev != 0 {
		t.Fatalf("whiteout: mode %o rdev %d, %v", wst.Mode, wst.Rdev, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(into, "opaque"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr: %q, %v", buf[:n], err)
	}
	if b, _ := os.ReadFile(filepath.Join(into, "file")); string(b) != "layer bytes" {
		t.Fatalf("file content %q", b)
	}
}

// A blob changed or cut short in the object storage is refused, and the
// directory it was to fill stays empty.
func TestCorruptBlobRefused(t *testing.T) {
	testutil.RequiresRoot(t)
	srv := s3test.Start(t, bucket)
	st := open(t, srv)
	ctx := context.Background()
	ref, _, err := st.UploadDir(ctx, layerLike(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blob := srv.BlobPath(bucket, ref.Digest)
	orig, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"flipped":   append([]byte{orig[0] ^ 0xff}, orig[1:]...),
		"truncated": orig[:len(orig)/2],
		"longer":    append(append([]byte{}, orig...), 0),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(blob, content, 0o644); err != nil {
				t.Fatal(err)
			}
			into := t.TempDir()
			err := st.DownloadDir(ctx, ref, into, t.TempDir())
			if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("download of a %s blob: %v; want refused", name, err)
			}
			if entries, _ := os.ReadDir(into); len(entries) != 0 {
				t.Fatalf("a refused blob left %d entries", len(entries))
			}
		})
	}
}

func TestOpenBadConfig(t *testing.T) {
	srv := s3test.Start(t, bucket)
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	good := srv.Config(bucket)
	for _, tc := range []struct {
		name  string
		edit  func(*objstore.Config)
		is    error
		words string
	}{
		{"unreachable", func(c *objstore.Config) { c.Endpoint = dead }, errdefs.ErrUnavailable, "unreachable"},
		{"wrong secret", func(c *objstore.Config) { c.SecretKey = "wrong" }, errdefs.ErrPermissionDenied, "secret key"},
		{"unknown key", func(c *objstore.Config) { c.AccessKey = "nobody" }, errdefs.ErrPermissionDenied, "access key"},
		{"missing bucket", func(c *objstore.Config) { c.Bucket = "absent" }, errdefs.ErrFailedPrecondition, "no bucket"},
		{"no bucket", func(c *objstore.Config) { c.Bucket = "" }, errdefs.ErrInvalidArgument, "bucket"},
		{"bad endpoint", func(c *objstore.Config) { c.Endpoint = "ftp://x" }, errdefs.ErrInvalidArgument, "http://host:port"},
		{"no secret", func(c *objstore.Config) { c.SecretKey = "" }, errdefs.ErrInvalidArgument, "secret key"},
		{"bad prefix", func(c *objstore.Config) { c.Prefix = "../x" }, errdefs.ErrInvalidArgument, "prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := objstore.Open(context.Background(), c)
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("Open: %v; want an error saying %q", err, tc.words)
			}
		})
	}
}
