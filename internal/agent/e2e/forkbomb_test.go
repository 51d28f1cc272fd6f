package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// The fork bomb a new user tries first, run as the SDK runs commands. The
// agent starts it in the sandbox's user cgroup; its orphans fill that and
// not the agent's room, so the agent answers throughout, the host can kill
// them all, and the next command runs.
func TestForkBombThroughAgent(t *testing.T) {
	s := newSandboxWith(t, runtime.Limits{DiskMB: 2048, Pids: 256})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	r, err := s.run(ctx, t, "user", bash(`grep -E ':(cpu|cpu,cpuacct|pids|memory):' /proc/self/cgroup | sort -t: -k2; timeout 5 bash -c ':(){ :|:& };:' >/dev/null 2>&1; echo done`))
	if err != nil {
		t.Fatalf("fork bomb: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\d+:cpu(,cpuacct)?:/user\n\d+:memory:/user\n\d+:pids:/user\ndone\n$`).MatchString(r.stdout) {
		t.Errorf("command's cgroups and end: %q (stderr %q); want cpu, memory and pids in /user", r.stdout, r.stderr)
	}

	for range 3 {
		resp, err := s.http.Get(agentURL + "/health")
		if err != nil {
			t.Fatalf("agent health under the bomb's orphans: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("agent health under the bomb's orphans: %d", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := s.driver.KillUserProcesses(ctx, s.id); err != nil {
		t.Fatalf("kill user processes: %v", err)
	}
	r, err = s.run(ctx, t, "user", bash(`echo alive; ps -e --no-headers | wc -l`))
	if err != nil || !strings.HasPrefix(r.stdout, "alive\n") {
		t.Fatalf("after the kill: %q %q %v", r.stdout, r.stderr, err)
	}
	t.Logf("processes after the kill (agent, the command's shell and ps, wc): %s", strings.TrimPrefix(r.stdout, "alive\n"))
}
