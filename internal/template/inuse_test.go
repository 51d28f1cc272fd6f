package template

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/testutil"
)

func TestInUseSeesBindMountsOfABuild(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	build := filepath.Join(dir, "v1", "rootfs")
	other := filepath.Join(dir, "v2", "rootfs")
	target := filepath.Join(dir, "mnt")
	for _, d := range []string{build, other, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if busy, err := inUse(filepath.Join(dir, "v1")); err != nil || busy {
		t.Fatalf("before mount: inUse = %v, %v", busy, err)
	}
	// A sandbox mounts a layer (a bind mount of rootfs) somewhere else.
	if err := unix.Mount(build, target, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(target, unix.MNT_DETACH)
	if busy, err := inUse(filepath.Join(dir, "v1")); err != nil || !busy {
		t.Errorf("while mounted: inUse(v1) = %v, %v; want true", busy, err)
	}
	if busy, err := inUse(filepath.Join(dir, "v2")); err != nil || busy {
		t.Errorf("inUse(v2) = %v, %v; want false", busy, err)
	}
	if busy, _ := inUse(filepath.Join(dir, "missing")); busy {
		t.Error("a missing directory is in use")
	}
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if busy, err := inUse(filepath.Join(dir, "v1")); err != nil || busy {
		t.Errorf("after unmount: inUse = %v, %v", busy, err)
	}
}
