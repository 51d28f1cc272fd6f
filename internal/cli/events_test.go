package cli_test

import (
	"bufio"
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// TestEventsCommand follows the events of a sandbox's life with
// `soulbox events --follow`, then reads them back and resumes after one.
func TestEventsCommand(t *testing.T) {
	e := newCLIEnv(t)
	follow := e.command("events", "--follow", "--json")
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer follow.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	id, errOut, code := e.run(t, "", "sandbox", "create")
	id = strings.TrimSpace(id)
	if code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	if _, errOut, code := e.run(t, "", "sandbox", "kill", id); code != 0 {
		t.Fatalf("kill: %s", errOut)
	}
	var seen []client.Event
	timeout := time.After(30 * time.Second)
	for len(seen) < 3 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("events --follow ended; saw %+v", seen)
			}
			var ev client.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if ev.SandboxID == id {
				seen = append(seen, ev)
			}
		case <-timeout:
			t.Fatalf("events --follow: saw %+v in 30 s", seen)
		}
	}
	if seen[0].Type != "created" || seen[1].Type != "started" || seen[2].Type != "ended" || seen[2].Reason != "killed" {
		t.Errorf("followed %+v", seen)
	}
	if err := follow.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := follow.Wait(); err != nil {
		t.Errorf("events --follow after SIGTERM: %v", err)
	}

	// Without --follow: what was recorded, then the command ends.
	out, errOut, code := e.run(t, "", "events")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "ended (killed)") {
		t.Errorf("events: %d %s\n%s", code, errOut, out)
	}
	out, _, code = e.run(t, "", "events", "--json", "--after", strconv.FormatInt(seen[1].ID, 10))
	if code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, `"type":"ended"`) {
		t.Errorf("events --after %d: %d\n%s", seen[1].ID, code, out)
	}
	if _, errOut, code := e.run(t, "", "events", "--after", "-3"); code == 0 || !strings.Contains(errOut, "--after -3") {
		t.Errorf("events --after -3: %d %s", code, errOut)
	}
}
