package template

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/testutil"
)

// mountingBuild mounts a tmpfs where debootstrap mounts /proc, as a killed
// debootstrap would leave it, then returns err.
func mountingBuild(err error) func(ctx context.Context, rootfs string) error {
	return func(ctx context.Context, rootfs string) error {
		p := filepath.Join(rootfs, "proc")
		if e := os.MkdirAll(p, 0o755); e != nil {
			return e
		}
		if e := unix.Mount("tmpfs", p, "tmpfs", 0, "size=1m"); e != nil {
			return e
		}
		// Stacked on itself: one unmount round is not enough.
		if e := unix.Mount("tmpfs", p, "tmpfs", 0, "size=1m"); e != nil {
			return e
		}
		return err
	}
}

func TestBuildLeavesNoMounts(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, tc := range []struct {
		name string
		err  error
	}{{"success", nil}, {"failure", errors.New("debootstrap died")}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestStore(t, dir, mountingBuild(tc.err))
			_, err := s.Ensure(t.Context(), "base")
			if (err != nil) != (tc.err != nil) {
				t.Errorf("Ensure error = %v; want %v", err, tc.err)
			}
			left, merr := mountsUnder(dir)
			if merr != nil {
				t.Fatal(merr)
			}
			if len(left) > 0 {
				t.Errorf("mounts left under the cache: %q", left)
				_ = unmountUnder(dir)
			}
		})
	}
}

func TestRemoveTreeUnmountsFirst(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	// A file on the host side of a bind mount must survive removing the
	// tree it is bound into.
	precious := t.TempDir()
	if err := os.WriteFile(filepath.Join(precious, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "tree", "dev")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(precious, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(filepath.Join(dir, "tree")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(precious, "keep")); err != nil {
		t.Errorf("removal reached through a bind mount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tree")); !os.IsNotExist(err) {
		t.Errorf("tree still there: %v", err)
	}
}

func TestSweepUnmountsCrashedBuild(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	// A crashed process's build: still mounted, no manifest.
	crashed := filepath.Join(dir, "base", ".build-crashed", "rootfs")
	if err := mountingBuild(nil)(t.Context(), crashed); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	s := newTestStore(t, dir, fakeBuild(&calls))
	tpl, err := s.Ensure(t.Context(), "base")
	if err != nil {
		t.Fatal(err)
	}
	assertDirEntries(t, filepath.Join(dir, "base"), manifestFile, tpl.BuildID)
	if left, _ := mountsUnder(dir); len(left) > 0 {
		t.Errorf("mounts left: %q", left)
		_ = unmountUnder(dir)
	}
}
