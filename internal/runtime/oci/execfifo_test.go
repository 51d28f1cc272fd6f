package oci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// loggingRuntime wraps the real runtime and appends each call's arguments
// to the returned log file.
func loggingRuntime(t *testing.T, rt string) (wrapper, log string) {
	t.Helper()
	log = filepath.Join(t.TempDir(), "calls")
	wrapper = wrappedRuntime(t, rt, "logged", func(real string) string {
		return "echo \"$*\" >> " + log + "\nexec " + real + " \"$@\"\n"
	})
	return wrapper, log
}

// A runc sandbox is started and destroyed without a runc process: the
// driver opens the exec fifo itself, and removes the container's cgroups
// and state itself once its processes are dead. runc agrees with what was
// done: it reports the sandbox running, and knows nothing of it after.
func TestStartAndDeleteWithoutRuncProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	wrapper, log := loggingRuntime(t, "runc")
	d := newTestDriver(t, map[string]string{"runc": wrapper})
	if d.runtime != "runc" {
		t.Skipf("the driver runs %s here", d.runtime)
	}
	ctx := context.Background()
	info := startSandbox(t, d, "fifostart", runtime.Limits{})
	if _, err := os.Lstat(d.execFifo("fifostart")); !os.IsNotExist(err) {
		t.Errorf("exec fifo after start: %v, want it removed", err)
	}
	st, err := d.state(ctx, "runc", "fifostart")
	if err != nil || st.Status != "running" || st.Pid != info.Pid {
		t.Errorf("runc state after start: %+v, %v; want running, pid %d", st, err, info.Pid)
	}
	var out strings.Builder
	if res, err := d.Exec(ctx, "fifostart", runtime.ExecRequest{Args: []string{"cat", "/proc/1/comm"}, Stdout: &out}); err != nil || res.ExitCode != 0 || out.String() != "soulbox-agent\n" {
		t.Errorf("pid 1 after start: %q, exit %d, %v; want the agent", out.String(), res.ExitCode, err)
	}
	ran := func(verb string) {
		t.Helper()
		calls, _ := os.ReadFile(log)
		for _, line := range strings.Split(string(calls), "\n") {
			// --root <dir> <verb> ... <id>
			if f := strings.Fields(line); len(f) > 2 && f[2] == verb && f[len(f)-1] == "fifostart" {
				t.Errorf("runc was run: %s", line)
			}
		}
	}
	ran("start")
	if err := d.Destroy(ctx, "fifostart"); err != nil {
		t.Fatal(err)
	}
	ran("delete")
	if _, err := d.state(ctx, "runc", "fifostart"); err == nil {
		t.Error("runc still knows the sandbox after its destroy")
	}
	for _, c := range d.cgroups.hierarchies() {
		if _, err := os.Stat(filepath.Join(c, d.cgroups.parent, "fifostart")); err == nil {
			t.Errorf("cgroup left in %s", c)
		}
	}
	// A start of a started sandbox is refused as runc refuses it.
	startSandbox(t, d, "fifotwice", runtime.Limits{})
	if err := d.Start(ctx, "fifotwice"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("second start: %v, want a failed precondition", err)
	}
}

// A created sandbox whose init died before the start is refused as
// stopped, and the start does not wait for it.
func TestStartThroughFifoInitGone(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	if d.runtime != "runc" {
		t.Skipf("the driver runs %s here", d.runtime)
	}
	ctx := context.Background()
	info, err := d.Create(ctx, runtime.Spec{ID: "fifogone", Template: "base"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), "fifogone") })
	if err := d.killCgroup("fifogone"); err != nil {
		t.Fatal(err)
	}
	handled, err := d.startThroughFifo(ctx, "fifogone", info.Pid)
	if !handled || !errdefs.IsFailedPrecondition(err) {
		t.Errorf("start of a sandbox whose init is gone: handled %v, %v; want a failed precondition", handled, err)
	}
}
