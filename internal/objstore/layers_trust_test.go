package objstore_test

import (
	"context"
	"log/slog"
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

// TestFetchedLayerEntries: a layer fetched from object storage may hold
// what SoulBox's layers hold (overlayfs's 0:0 whiteouts and opaque
// directories, file capabilities) and nothing else: one with a host
// device node, or an extended attribute of another namespace, which
// anyone with the bucket's credentials could have put there, is refused
// before anything is unpacked.
func TestFetchedLayerEntries(t *testing.T) {
	testutil.RequiresRoot(t)
	ctx := context.Background()
	srv := s3test.Start(t, "soulbox")
	s, err := objstore.Open(ctx, srv.Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	l := objstore.Layers{Store: s, TmpDir: tmp, Log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		name, digest string
		make         func(dir string) error
		refused      string // words of the refusal; empty: fetched
	}{
		{"whiteout and opaque", "key-1111111111111111", func(dir string) error {
			if err := unix.Mknod(filepath.Join(dir, "gone"), unix.S_IFCHR|0o600, 0); err != nil {
				return err
			}
			if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
				return err
			}
			return unix.Lsetxattr(filepath.Join(dir, "d"), "trusted.overlay.opaque", []byte("y"), 0)
		}, ""},
		{"host device", "key-2222222222222222", func(dir string) error {
			return unix.Mknod(filepath.Join(dir, "mem"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 1)))
		}, "not a 0:0 whiteout"},
		{"block device", "key-3333333333333333", func(dir string) error {
			return unix.Mknod(filepath.Join(dir, "disk"), unix.S_IFBLK|0o666, int(unix.Mkdev(7, 0)))
		}, "block device"},
		{"foreign xattr", "key-4444444444444444", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
				return err
			}
			return unix.Lsetxattr(filepath.Join(dir, "f"), "trusted.other", []byte("x"), 0)
		}, `"trusted.other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			if err := tc.make(src); err != nil {
				t.Fatal(err)
			}
			blob, err := l.Push(ctx, tc.digest, src)
			if err != nil {
				t.Fatal(err)
			}
			into := t.TempDir()
			_, err = l.Fetch(ctx, tc.digest, blob, into)
			left, _ := os.ReadDir(into)
			if tc.refused == "" {
				if err != nil || len(left) != 2 {
					t.Fatalf("fetch: %v, %d entries", err, len(left))
				}
				return
			}
			if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("fetch: %v; want it refused saying %q", err, tc.refused)
			}
			if len(left) != 0 {
				t.Errorf("a refused layer left %d entries", len(left))
			}
		})
	}
}
