// Package ocitest sets up what tests of the OCI driver and of the packages
// above it need: the agent binary, the shared template cache and a driver
// root that a sandbox's unprivileged root can traverse.
package ocitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/template"
	"github.com/soulbox/soulbox/internal/testutil"
)

var agent struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// Main runs the tests of a package that uses AgentBinary and removes the
// binary afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if agent.dir != "" {
		os.RemoveAll(agent.dir)
	}
	os.Exit(code)
}

// AgentBinary builds soulbox-agent once per test process, statically as it
// is shipped, and returns its path.
func AgentBinary(t testing.TB) string {
	t.Helper()
	agent.once.Do(func() {
		agent.dir, agent.err = os.MkdirTemp("", "soulbox-agent-")
		if agent.err != nil {
			return
		}
		agent.path = filepath.Join(agent.dir, "soulbox-agent")
		cmd := exec.Command("go", "build", "-o", agent.path, "github.com/soulbox/soulbox/cmd/soulbox-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		agent.out, agent.err = cmd.CombinedOutput()
	})
	if agent.err != nil {
		t.Fatalf("build soulbox-agent: %v\n%s", agent.err, agent.out)
	}
	return agent.path
}

// TemplateCache is the template cache shared by every test: building base
// takes minutes, so all test binaries (and a server on the same host) use
// one, SOULBOX_TEMPLATE_CACHE or the server's default.
func TemplateCache() string {
	if dir := os.Getenv("SOULBOX_TEMPLATE_CACHE"); dir != "" {
		return dir
	}
	return "/var/lib/soulbox/templates"
}

// Templates returns a template store on the shared cache, logging build
// progress to the test.
func Templates(t testing.TB) *template.Store {
	t.Helper()
	s, err := template.New(TemplateCache(), template.Options{Progress: logWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Root returns a fresh driver root, removed when the test ends unless
// something is still mounted in it (which the test then reports).
func Root(t testing.TB) string {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "runc")
	// Not t.TempDir: its parents are 0700, which a sandbox's root, an
	// unprivileged host uid, cannot traverse.
	root, err := os.MkdirTemp("/var/lib", "soulbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if mounts := mountsUnder(root); len(mounts) > 0 {
			t.Errorf("mounts left under the driver root: %v", mounts)
			return // removing would descend into mounted filesystems
		}
		os.RemoveAll(root)
		// A server on this root gave its sandboxes networks tagged after
		// it; remove what a test left (nothing of a driver without one).
		if err := network.Uninstall(network.TagFor(root)); err != nil {
			t.Errorf("network objects left by the test: %v", err)
		}
	})
	return root
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
