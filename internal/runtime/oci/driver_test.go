package oci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
	"github.com/soulbox/soulbox/internal/template"
	"github.com/soulbox/soulbox/internal/testutil"
)

var _ runtimetest.LeakChecker = (*Driver)(nil)

// agentBinary is built once per test binary by TestMain.
var agentBinary string

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() == 0 {
			dir, err := os.MkdirTemp("", "soulbox-agent-")
			if err != nil {
				panic(err)
			}
			defer os.RemoveAll(dir)
			agentBinary = filepath.Join(dir, "soulbox-agent")
			cmd := exec.Command("go", "build", "-o", agentBinary, "github.com/soulbox/soulbox/cmd/soulbox-agent")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				os.Stderr.Write(out)
				panic(err)
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// templateCache is the shared template cache: building base takes minutes,
// so every test binary and the server share one.
func templateCache() string {
	if dir := os.Getenv("SOULBOX_TEMPLATE_CACHE"); dir != "" {
		return dir
	}
	return "/var/lib/soulbox/templates"
}

// newTestDriver returns a driver with its own root, removed at the end of
// the test after checking that nothing in it is still mounted.
func newTestDriver(t testing.TB, runtimeBinaries map[string]string) *Driver {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "runc")
	templates, err := template.New(templateCache(), template.Options{Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parents are 0700, which sandbox root, an
	// unprivileged host uid, cannot traverse.
	root, err := os.MkdirTemp("/var/lib", "soulbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Root: root, AgentPath: agentBinary, Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	d.runtimeBinaries = runtimeBinaries
	t.Cleanup(func() {
		if mounts, _ := mountsUnder(root); len(mounts) > 0 {
			t.Errorf("mounts left under the driver root: %v", mounts)
			return // removing would descend into mounted filesystems
		}
		os.RemoveAll(root)
	})
	return d
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	runtimetest.Run(t, func(t *testing.T) runtime.Driver { return newTestDriver(t, nil) }, runtimetest.Options{
		Template: "base",
		NewFaultyDriver: func(t *testing.T) runtime.Driver {
			return newTestDriver(t, map[string]string{"runc": failpointRuntime(t, "runc", "create")})
		},
	})
}

// failpointRuntime writes a wrapper around the real runtime that runs the
// verb for real and then reports failure, like a runtime that crashes after
// doing its work: the driver must clean up what exists although it was told
// nothing exists.
func failpointRuntime(t *testing.T, rt, verb string) string {
	real, err := exec.LookPath(rt)
	if err != nil {
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), rt+"-failpoint")
	script := "#!/bin/sh\n" + real + " \"$@\"\nfor a; do [ \"$a\" = " + verb + " ] && { echo 'failpoint: " + verb + " fails after it ran' >&2; exit 1; }; done\nexit 0\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChooseRuntime(t *testing.T) {
	has := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, h := range names {
				if h == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	v1, v2 := cgroupLayout{}, cgroupLayout{unified: true}
	for _, tc := range []struct {
		name    string
		forced  string
		layout  cgroupLayout
		lookup  func(string) (string, error)
		want    string
		wantErr bool
	}{
		{"v2 prefers crun", "", v2, has("runc", "crun"), "crun", false},
		{"v1 hybrid falls back to runc", "", v1, has("runc", "crun"), "runc", false},
		{"v2 without crun", "", v2, has("runc"), "runc", false},
		{"nothing installed", "", v1, has(), "", true},
		{"forced crun on v1", "crun", v1, has("runc", "crun"), "", true},
		{"forced runsc", "runsc", v1, has("runc", "runsc"), "runsc", false},
		{"forced missing runsc", "runsc", v1, has("runc"), "", true},
		{"forced unknown", "docker", v1, has("runc"), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseRuntime(tc.forced, tc.layout, tc.lookup)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("chooseRuntime = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReopenFindsSandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	if _, err := d.Create(ctx, runtime.Spec{ID: "reopen1", Template: "base"}); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, "reopen1")
	if err := d.Start(ctx, "reopen1"); err != nil {
		t.Fatal(err)
	}
	// A second driver on the same root, as after a server restart, sees the
	// running sandbox and does not hand out its uid range again.
	d2, err := New(Config{Root: d.root, AgentPath: agentBinary, Templates: d.templates})
	if err != nil {
		t.Fatal(err)
	}
	info, err := d2.Info(ctx, "reopen1")
	if err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("after reopen: %+v, %v", info, err)
	}
	if _, hostUID, err := d2.takeSlot("other"); err != nil || hostUID == info.HostUID {
		t.Errorf("reopened driver handed out uid %d again (err %v)", hostUID, err)
	}
}
