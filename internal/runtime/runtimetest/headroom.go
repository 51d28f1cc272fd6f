package runtimetest

import (
	"context"
	"strings"
	"testing"
	"time"

	rt "github.com/soulbox/soulbox/internal/runtime"
)

// testForkBombHeadroom runs the fork bomb a new user tries first, as
// `user`, for 5 seconds. Its orphans outlive it and fill what they may;
// the agent must keep room of its own (it answers), the host must be able
// to end them all, and then the sandbox runs commands again.
func (s *suite) testForkBombHeadroom(t *testing.T) {
	killer, ok := s.d.(rt.UserKiller)
	if !ok {
		t.Skip("driver cannot kill the sandbox's processes apart from its agent")
	}
	const limit = 256
	info := s.start(t, rt.Limits{Pids: limit})
	out, errOut, code := s.runAs(t, info.ID, "user", `timeout 5 bash -c ':(){ :|:& };:' >/dev/null 2>&1; echo done`)
	if code != 0 || strings.TrimSpace(out) != "done" {
		t.Fatalf("fork bomb: exit %d, %q %q", code, out, errOut)
	}
	ctx := context.Background()
	// The orphans fork on until the kernel refuses; wait until their
	// number has held for half a second.
	var st rt.Stats
	for i, prev, same := 0, uint64(0), 0; i < 200 && same < 5; i++ {
		var err error
		if st, err = s.d.Stats(ctx, info.ID); err != nil {
			t.Fatalf("stats under the bomb's orphans: %v", err)
		}
		if st.Pids == prev {
			same++
		} else {
			same = 0
		}
		prev = st.Pids
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after the bomb: %d of %d pids in use", st.Pids, st.PidsLimit)
	if st.Pids >= st.PidsLimit {
		t.Errorf("the bomb's orphans took all %d pids: the agent has no room left", st.PidsLimit)
	}
	if dialer, ok := s.d.(rt.Dialer); ok {
		if status := agentHealth(ctx, dialer, info.ID); !strings.HasPrefix(status, "HTTP/1.0 204") {
			t.Errorf("agent health under the bomb's orphans: %q", status)
		}
	}
	kctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := killer.KillUserProcesses(kctx, info.ID); err != nil {
		t.Fatalf("kill user processes: %v", err)
	}
	if got := s.mustRunAs(t, info.ID, "user", "echo alive"); got != "alive" {
		t.Errorf("after the kill: %q", got)
	}
	// The agent survived it all.
	if got := s.mustRun(t, info.ID, "cat /proc/1/comm"); got != "soulbox-agent" {
		t.Errorf("pid 1 is %q", got)
	}
}

// agentHealth asks the agent for GET /health and returns the status line.
func agentHealth(ctx context.Context, d rt.Dialer, id string) string {
	conn, err := d.DialContext(ctx, id, 49983)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET /health HTTP/1.0\r\n\r\n")); err != nil {
		return "write: " + err.Error()
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if n == 0 {
		return "read: " + err.Error()
	}
	return string(buf[:n])
}

// mustRunAs is mustRun as user.
func (s *suite) mustRunAs(t *testing.T, id, user, script string) string {
	t.Helper()
	out, errOut, code := s.runAs(t, id, user, script)
	if code != 0 {
		t.Fatalf("%q as %s exited %d: %s%s", script, user, code, out, errOut)
	}
	return strings.TrimRight(out, "\n")
}
