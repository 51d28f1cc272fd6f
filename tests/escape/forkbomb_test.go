package escape_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// forkBomb is the fork bomb a new user tries first, run for 5 seconds.
// Its orphans outlive it and fill the sandbox's user cgroup; the attempt
// is contained when the agent, kept apart from them, answers throughout,
// a start it cannot make says what to do, the kill of every process but
// the agent works under the pressure, and commands run after it (try
// checks that last, and the host check that the sandbox's pids limit
// held). It returns what went wrong, or "".
func forkBomb(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var probes int
	var unanswered []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if err := agentHealth(e, sb); err != nil {
				mu.Lock()
				unanswered = append(unanswered, err.Error())
				mu.Unlock()
			}
			mu.Lock()
			probes++
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	// The shell that started the bomb may itself be killed by the memory
	// limit or fail to fork: its outcome is not the point.
	bomb := e.srv.Run(sb, user, `timeout 5 bash -c ':(){ :|:& };:' >/dev/null 2>&1; echo "fork bomb over"`, 2*time.Minute)
	t.Logf("the bomb's shell: exit %d, err %v, %q", bomb.Code, bomb.Err, bomb.Text)
	// Its orphans fork on; give them a moment to fill what they may.
	time.Sleep(2 * time.Second)
	var why []string
	// A start now is refused for lack of pids, saying what to do. If
	// the orphans left a pid free it runs, at the pace thousands of
	// processes sharing the sandbox's CPU allow: not waited for.
	out := e.srv.Run(sb, user, "echo started", 10*time.Second)
	t.Logf("a start under the orphans: %+v", out)
	// A start that crawls is cut by the client's deadline: the envd
	// code deadline_exceeded, which the Go SDK reports as its timeout.
	if out.Err != nil && !strings.Contains(out.Err.Error(), "deadline_exceeded") && !errors.Is(out.Err, soulbox.ErrTimeout) &&
		(!strings.Contains(out.Err.Error(), "resource_exhausted") || !strings.Contains(out.Err.Error(), "processes/kill")) {
		why = append(why, fmt.Sprintf("a start under the orphans failed without saying what to do: %v", out.Err))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := e.srv.Client.KillProcesses(ctx, sb.SandboxID); err != nil {
		why = append(why, fmt.Sprintf("kill every process of the sandbox under the orphans: %v", err))
	}
	close(stop)
	wg.Wait()
	t.Logf("the agent answered %d of %d health checks during the bomb", probes-len(unanswered), probes)
	if len(unanswered) > 0 {
		why = append(why, fmt.Sprintf("the agent did not answer %d of %d health checks during the bomb, first: %s", len(unanswered), probes, unanswered[0]))
	}
	// The bomb's functions run as `bash -c :(){ ...`.
	if out := e.srv.Run(sb, user, `echo "$(pgrep -c -f -- '-c :\(\)') left"`, time.Minute); out.Err != nil || !strings.Contains(out.Text, "0 left") {
		why = append(why, fmt.Sprintf("the bomb's processes after the kill: %+v", out))
	}
	if len(why) > 0 {
		got, err := e.srv.Client.Get(t.Context(), sb.SandboxID)
		t.Logf("the sandbox now: %+v, %v", got, err)
		if b, err := os.ReadFile(filepath.Join(e.srv.RuntimeRoot(), "sandboxes", sb.SandboxID, "agent.log")); err == nil {
			t.Logf("agent.log:\n%s", tailLines(string(b), 40))
		}
		logs, err := e.srv.Client.Logs(t.Context(), sb.SandboxID, time.Time{})
		for _, l := range logs {
			t.Logf("sandbox log: %+v", l)
		}
		if err != nil {
			t.Logf("sandbox log: %v", err)
		}
		for _, l := range strings.Split(e.srv.Log(), "\n") {
			if strings.Contains(l, sb.SandboxID) {
				t.Logf("server log: %s", l)
			}
		}
		return "the fork bomb was not contained: " + strings.Join(why, "; ")
	}
	return ""
}

// agentHealth asks the sandbox's agent for GET /health through the
// server's proxy, as E2B's SDKs probe a sandbox.
func agentHealth(e *env, sb client.Sandbox) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+e.srv.Addr+"/health", nil)
	if err != nil {
		return err
	}
	req.Header.Set("E2b-Sandbox-Id", sb.SandboxID)
	req.Header.Set("E2b-Sandbox-Port", "49983")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("health answered %s", resp.Status)
	}
	return nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
