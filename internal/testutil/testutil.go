// Package testutil holds what tests share: gates on what they need from
// the host, free addresses, a buffer safe to read while written, and a
// thread's niceness.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequiresRoot skips the test unless it runs as root.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("requires root")
	}
}

// RequiresBinary skips the test unless name is on PATH.
func RequiresBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("requires %s on PATH", name)
	}
}
