package oci

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// TestKillUserProcessesSparesTheAgentStarting: while the agent starts a
// process, its starting thread is in the user cgroup, and the cgroup's
// process list names the agent. A kill of the user's processes then must
// not kill the agent (it did: the sandbox lost its agent under a fork
// bomb, when starts are slow).
func TestKillUserProcessesSparesTheAgentStarting(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	d := newTestDriver(t, nil)
	if !d.hasUserCgroups("runc") {
		t.Skip("no user cgroup on this host (cgroup v2)")
	}
	ctx := context.Background()
	const id = "killspares1"
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	defer d.Destroy(ctx, id)
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	info, err := d.Info(ctx, id)
	if err != nil || info.Pid <= 0 {
		t.Fatalf("info: %+v %v", info, err)
	}
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
