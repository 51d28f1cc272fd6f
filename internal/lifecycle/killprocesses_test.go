package lifecycle_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// TestKillProcesses: every process of a running sandbox but its agent is
// ended, the sandbox stays running and runs commands again; an unknown or
// paused sandbox is refused, saying why, and nothing changes.
func TestKillProcesses(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(script string) string {
		t.Helper()
		var out bytes.Buffer
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		res, err := e.driver.Exec(ectx, sb.ID, runtime.ExecRequest{Args: []string{"/bin/bash", "-c", script}, User: "user", Stdout: &out, Stderr: &out})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%q: %v %d %s", script, err, res.ExitCode, out.String())
		}
		return strings.TrimSpace(out.String())
	}
	run("for i in 1 2 3; do setsid sleep 1000 </dev/null >/dev/null 2>&1 & done")
	if got := run("pgrep -c -x sleep"); got != "3" {
		t.Fatalf("sleeps before the kill: %q", got)
	}

	if err := e.m.KillProcesses(ctx, "nosuchsandbox"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown sandbox: %v", err)
	}
	if err := e.m.KillProcesses(ctx, sb.ID); err != nil {
		t.Fatalf("kill processes: %v", err)
	}
	if got := run("pgrep -c -x sleep || true"); got != "0" {
		t.Errorf("sleeps after the kill: %q", got)
	}
	if got := run("cat /proc/1/comm"); got != "soulbox-agent" {
		t.Errorf("pid 1 after the kill: %q", got)
	}
	if got, _ := e.st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
		t.Errorf("state after the kill: %s", got.State)
	}

	if err := e.m.Pause(ctx, sb.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.m.KillProcesses(ctx, sb.ID); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "resume") {
		t.Errorf("paused sandbox: %v", err)
	}
	if got, _ := e.st.GetSandbox(ctx, sb.ID); got.State != store.StatePaused {
		t.Errorf("a refused kill changed the state to %s", got.State)
	}
}
