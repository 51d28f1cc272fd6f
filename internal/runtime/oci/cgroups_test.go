package oci

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/testutil"
)

// A hierarchy mounted a second time elsewhere (as CRIU does under its work
// directory while it runs) is not taken for the host's.
func TestDetectCgroupsIgnoresMountsElsewhere(t *testing.T) {
	testutil.RequiresRoot(t)
	l, err := detectCgroups("soulbox-test")
	if err != nil {
		t.Fatal(err)
	}
	if l.unified || l.mounts["pids"] == "" {
		t.Skip("needs a cgroup v1 pids hierarchy")
	}
	host := l.mounts["pids"]
	dir := t.TempDir()
	if err := unix.Mount("none", dir, "cgroup", 0, "pids"); err != nil {
		t.Skipf("mount the pids hierarchy again: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	l, err = detectCgroups("soulbox-test")
	if err != nil {
		t.Fatal(err)
	}
	if l.mounts["pids"] != host {
		t.Errorf("pids hierarchy = %s with a second mount at %s; want %s", l.mounts["pids"], dir, host)
	}
}
