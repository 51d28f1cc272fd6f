package oci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
)

var _ runtimetest.LeakChecker = (*Driver)(nil)

// agentBinary is the agent the test drivers start.
var agentBinary string

func TestMain(m *testing.M) { ocitest.Main(m) }

// newTestDriver returns a driver with its own root; runtimeBinaries
// replaces runtime binaries (failpoint wrappers).
func newTestDriver(t testing.TB, runtimeBinaries map[string]string) *Driver {
	t.Helper()
	root := ocitest.Root(t)
	agentBinary = ocitest.AgentBinary(t)
	d, err := New(Config{Root: root, AgentPath: agentBinary, Templates: ocitest.Templates(t), RuntimePaths: runtimeBinaries})
	if err != nil {
		t.Fatal(err)
	}
	return d
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
	return wrappedRuntime(t, rt, "failpoint", func(real string) string {
		return real + " \"$@\"\nfor a; do [ \"$a\" = " + verb + " ] && { echo 'failpoint: " + verb + " fails after it ran' >&2; exit 1; }; done\nexit 0\n"
	})
}

// wrappedRuntime writes a shell script, <rt>-<name> in a temporary
// directory, whose body is script(the runtime's own path), and returns
// its path; the test is skipped where rt is not installed.
func wrappedRuntime(t *testing.T, rt, name string, script func(real string) string) string {
	t.Helper()
	real, err := exec.LookPath(rt)
	if err != nil {
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), rt+"-"+name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script(real)), 0o755); err != nil {
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
	if slot, hostUID, err := d2.takeSlot("other"); err != nil || hostUID == info.HostUID {
		t.Errorf("reopened driver handed out uid %d again (err %v)", hostUID, err)
	} else {
		d2.releaseSlot(slot, "other")
	}
	// So does any other driver on the host.
	d3 := newTestDriver(t, nil)
	if slot, hostUID, err := d3.takeSlot("third"); err != nil || hostUID == info.HostUID {
		t.Errorf("another driver handed out uid %d again (err %v)", hostUID, err)
	} else {
		d3.releaseSlot(slot, "third")
	}
}

func TestNewRejectsUntraversableRoot(t *testing.T) {
	parent := ocitest.Root(t)
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Root: filepath.Join(parent, "runtime"), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)})
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("New under a 0700 directory: %v, want a failed precondition naming the directory", err)
	}
}

// A crash after a teardown removed a sandbox's directory and before it
// released its uid range claim leaves only the claim, which no destroy
// would come for: the driver's next start drops it, and keeps the claims
// of sandboxes whose directory is there and those of other drivers.
func TestStartDropsClaimsOfSandboxesGone(t *testing.T) {
	d := newTestDriver(t, nil)
	last := d.uidBase + uint32(d.maxSlots()-1)*idRange
	gone, kept, other := last, last-idRange, last-2*idRange
	for _, u := range []uint32{gone, kept, other} {
		if _, err := os.Lstat(claimPath(u)); err == nil {
			t.Skipf("uid range %d is claimed on this host", u)
		}
		t.Cleanup(func() { os.Remove(claimPath(u)) })
	}
	if err := os.Mkdir(d.sandboxDir("claimkept"), 0o711); err != nil {
		t.Fatal(err)
	}
	for u, c := range map[uint32]claim{gone: {d.root, "claimgone"}, kept: {d.root, "claimkept"}, other: {"/elsewhere", "claimgone"}} {
		if err := writeClaim(u, c.root, c.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{Root: d.root, AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(claimPath(gone)); err == nil {
		t.Error("the claim of a sandbox whose directory is gone is still there")
	}
	for _, u := range []uint32{kept, other} {
		if _, err := os.Lstat(claimPath(u)); err != nil {
			t.Errorf("claim %d dropped: %v", u, err)
		}
	}
}

// A crash in the middle of a teardown can take state.json with the
// sandbox directory while the container and its uid range claim are still
// there. The next destroy, with the runtime unknown, must still find and
// remove both: no runtime's "never had it" is an error, and the claim is
// found by its content.
func TestDestroyAfterStateLost(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	const id = "statelost1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, id); err != nil {
		d.Destroy(ctx, id)
		t.Fatal(err)
	}
	if err := os.Remove(d.statePath(id)); err != nil {
		t.Fatal(err)
	}
	if err := d.Destroy(ctx, id); err != nil {
		t.Fatalf("destroy without state.json: %v", err)
	}
	if first, ok := d.holdsSlot(id); ok {
		t.Errorf("uid range from %d is still claimed for %s", first, id)
	}
	if left := d.Leftovers(ctx, id); len(left) > 0 {
		t.Errorf("leftovers after destroy: %v", left)
	}
}
