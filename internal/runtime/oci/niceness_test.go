package oci

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

// A sandbox made at niceness 10 (a pooled one) and set to 0 (its claim)
// runs at 0 throughout: its agent, also when one of its threads is in the
// user cgroup starting a process, and the user's processes, which all
// live in that cgroup (a prewarmed interpreter). Only the sandbox's own
// cgroup was read before, so those kept the pool's low priority.
func TestSetNicenessReachesTheUserCgroup(t *testing.T) {
	d, info := userCgroupSandbox(t, runtime.Spec{ID: "nicetouser1", Template: "base", Niceness: 10})
	ctx, id := context.Background(), info.ID
	if got := testutil.Niceness(t, info.Pid); got != 10 {
		t.Fatalf("agent of a sandbox made at 10 runs at %d", got)
	}
	sh(t, d, id, "setsid sleep 300 </dev/null >/dev/null 2>&1 &")
	user := filepath.Join(d.cgroups.dir("pids", id), userCgroupName, "tasks")
	b, err := os.ReadFile(user)
	if err != nil || len(bytes.Fields(b)) == 0 {
		t.Fatalf("user cgroup's threads: %q %v", b, err)
	}
	// The agent's main thread where a starting thread is, as its Enter
	// puts it; moved back after.
	tid := []byte(strconv.Itoa(info.Pid))
	if err := os.WriteFile(user, tid, 0); err != nil {
		t.Fatal(err)
	}
	err = d.SetNiceness(ctx, id, 0)
	_ = os.WriteFile(filepath.Join(d.cgroups.dir("pids", id), "tasks"), tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.Niceness(t, info.Pid); got != 0 {
		t.Errorf("agent's main thread, in the user cgroup during the change, at %d; want 0", got)
	}
	for _, f := range bytes.Fields(b) {
		n, _ := strconv.Atoi(string(f))
		if got := testutil.Niceness(t, n); got != 0 {
			t.Errorf("user thread %d at niceness %d; want 0", n, got)
		}
	}
}
