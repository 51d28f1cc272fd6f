package oci

import (
	"fmt"
	"os"
	"testing"

	"github.com/soulbox/soulbox/internal/testutil"
	"golang.org/x/sys/unix"
)

func nsOf(t *testing.T, fd int) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// The user namespace of a uid range is made once and handed out again,
// each caller its own fd to close; another range gets its own; after
// close, gets still work.
func TestUsernsCache(t *testing.T) {
	testutil.RequiresRoot(t)
	var c usernsCache
	get := func(uid uint32) string {
		t.Helper()
		fd, err := c.get(uid)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		return nsOf(t, fd)
	}
	a1, a2, b := get(1<<24), get(1<<24), get(1<<24+idRange)
	if a1 != a2 {
		t.Errorf("one range, two namespaces: %s, %s", a1, a2)
	}
	if a1 == b {
		t.Errorf("two ranges, one namespace: %s", a1)
	}
	if len(c.fds) != 2 {
		t.Errorf("%d namespaces kept, want 2", len(c.fds))
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if len(c.fds) != 0 {
		t.Errorf("%d namespaces kept after close", len(c.fds))
	}
	if get(1<<24) == "" || len(c.fds) != 0 {
		t.Errorf("after close: %d kept", len(c.fds))
	}
}
