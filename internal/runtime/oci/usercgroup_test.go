package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// TestKillUserProcessesSparesTheAgentStarting: while the agent starts a
// process, its starting thread is in the user cgroup, and the cgroup's
// process list names the agent. A kill of the user's processes then must
// not kill the agent (it did: the sandbox lost its agent under a fork
// bomb, when starts are slow).
func TestKillUserProcessesSparesTheAgentStarting(t *testing.T) {
	d, info := userCgroupSandbox(t, runtime.Spec{ID: "killspares1", Template: "base"})
	ctx, id := context.Background(), info.ID
	// The agent's main thread where a starting thread is, in every
	// hierarchy of the child, as the agent's Enter puts it.
	tid := []byte(strconv.Itoa(info.Pid))
	for _, c := range userControllers {
		if err := os.WriteFile(filepath.Join(d.cgroups.dir(c, id), userCgroupName, "tasks"), tid, 0); err != nil {
			t.Fatal(err)
		}
	}
	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.KillUserProcesses(kctx, id); err != nil {
		t.Errorf("kill user processes: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(info.Pid, 0); err != nil || isZombie(info.Pid) {
		t.Fatalf("the agent (pid %d) was killed with the user's processes", info.Pid)
	}
	for _, c := range userControllers {
		_ = os.WriteFile(filepath.Join(d.cgroups.dir(c, id), "tasks"), tid, 0)
	}
	if got, err := d.Info(ctx, id); err != nil || got.Status != runtime.StatusRunning {
		t.Errorf("sandbox after the kill: %+v %v", got, err)
	}
}

// User processes run in the child in the cpu hierarchy too, so the agent
// (outside it) competes with all of them as one group for CPU: a sandbox
// saturating its CPUs still has an agent that answers.
func TestUserProcessesShareCPUAsOneGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	ctx := context.Background()
	id := "ucgcpu1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy: %v", err)
		}
		if left := d.Leftovers(context.Background(), id); len(left) > 0 {
			t.Errorf("left after destroy: %v", left)
		}
	})
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !d.userCgroupExists(id) {
		t.Skip("no user cgroup on this host")
	}
	info, err := d.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cpuUser := filepath.Join(d.cgroups.dir("cpu", id), userCgroupName)
	sh(t, d, id, "setsid sleep 60 </dev/null >/dev/null 2>&1 &")
	var pids []int
	found := false
	for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if pids, err = readPids(filepath.Join(cpuUser, "cgroup.procs")); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			found = found || strings.HasPrefix(string(cmd), "sleep\x0060")
		}
	}
	if !found {
		t.Errorf("cpu user cgroup holds %v: want the user's sleep", pids)
	}
	assertOnlyStarterThread(t, cpuUser, info.Pid)
	// The agent holds the cpu child's tasks file, to start its processes
	// there too.
	env := userCgroupFDs(t, d, id)
	i := slices.Index(userControllers, "cpu")
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", info.Pid, env["user"][i]))
	if want := filepath.Join(cpuUser, "tasks"); err != nil || target != want {
		t.Errorf("agent fd %d = %q, %v; want %s", env["user"][i], target, err, want)
	}
	if n := d.configUserControllers(id); n != len(userControllers) {
		t.Errorf("configUserControllers = %d, want %d", n, len(userControllers))
	}
}

// A sandbox made before the cpu child names two controllers in its
// config; recreating it opens two again, at the fds its agent expects.
func TestConfigUserControllersOfAnOlderSandbox(t *testing.T) {
	d := &Driver{root: t.TempDir()}
	id := "old1"
	if err := os.MkdirAll(d.sandboxDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `{"process":{"env":["PATH=/bin","` + userCgroupEnv + `=user=3,4;home=5,6"]}}`
	if err := os.WriteFile(filepath.Join(d.sandboxDir(id), "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := d.configUserControllers(id); n != 2 {
		t.Errorf("configUserControllers = %d, want 2", n)
	}
	if n := d.configUserControllers("missing"); n != 0 {
		t.Errorf("configUserControllers of no sandbox = %d, want 0", n)
	}
}

// userCgroupSandbox starts a sandbox of spec on a test driver that makes
// user cgroups (skipping the test where none are made), destroyed at the
// test's end, and returns the driver and the sandbox's info.
func userCgroupSandbox(t *testing.T, spec runtime.Spec) (*Driver, runtime.Info) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	if !d.hasUserCgroups("runc") {
		t.Skip("no user cgroup on this host (cgroup v2)")
	}
	ctx := context.Background()
	if _, err := d.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Destroy(ctx, spec.ID) })
	if err := d.Start(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	info, err := d.Info(ctx, spec.ID)
	if err != nil || info.Pid <= 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
	return d, info
}
