package cli_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSandboxMetricsFollow: `sandbox metrics --follow --json` prints the
// history, then each new sample once as the monitor takes it, and ends
// with success when the sandbox ends.
func TestSandboxMetricsFollow(t *testing.T) {
	e := newCLIEnv(t)
	out, errOut, code := e.run(t, "", "sandbox", "create", "--template", "base", "--timeout", "5m")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	cmd := e.command("sandbox", "metrics", id, "--follow", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	seen := map[int64]bool{}
	timeout := time.After(40 * time.Second)
	for len(seen) < 3 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("follow ended after %d samples", len(seen))
			}
			var m struct {
				Timestamp time.Time `json:"timestamp"`
				MemTotal  uint64    `json:"memTotal"`
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil || m.MemTotal == 0 {
				t.Fatalf("line %q: %v", l, err)
			}
			if seen[m.Timestamp.UnixNano()] {
				t.Errorf("sample of %v printed twice", m.Timestamp)
			}
			seen[m.Timestamp.UnixNano()] = true
		case <-timeout:
			t.Fatalf("%d samples in 40 s, want 3 (one every 5 s)", len(seen))
		}
	}
	if _, errOut, code := e.run(t, "", "sandbox", "kill", id); code != 0 {
		t.Fatalf("kill: %d %s", code, errOut)
	}
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("follow of a killed sandbox ended with %v, want success", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("follow did not end 20 s after the sandbox was killed")
	}
}
