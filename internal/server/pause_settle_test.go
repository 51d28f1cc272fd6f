package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestRestartSettlesTransitions starts the server binary on a store that
// has a sandbox pausing, and then one resuming, as a server killed in the
// middle of those steps leaves it: the restart settles each in a defined
// state with an event giving the reason (pausing, with its processes
// still running: running on; resuming, not yet restored: paused again),
// the API shows E2B's states throughout, and the sandbox works after.
func TestRestartSettlesTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and creates real sandboxes")
	}
	cfg := testConfig(t)
	bin := buildServer(t, cfg.AgentPath)
	ctx := context.Background()
	connect := func() (apiClient, func()) {
		cmd, addr := startServer(t, bin, cfg)
		key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
		if err != nil {
			t.Fatal(err)
		}
		return apiClient{t: t, base: "http://" + addr, key: strings.TrimSpace(string(key))}, func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	// mark records, with the server down, the step a kill caught.
	mark := func(from, to store.SandboxState, typ, id string) {
		t.Helper()
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.SetState(ctx, id, []store.SandboxState{from}, to, store.Event{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	settled := func(id string) (store.Sandbox, store.Event) {
		t.Helper()
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sb, err := st.GetSandbox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := st.ListEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return sb, evs[len(evs)-1]
	}

	c, kill := connect()
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	if o, code := sh(t, c, sb, "echo kept > /home/user/kept.txt"); code != 0 {
		t.Fatal(o)
	}
	kill()

	// Pausing, its processes untouched: running on.
	mark(store.StateRunning, store.StatePausing, store.EventPausing, id)
	c, kill = connect()
	got, last := settled(id)
	if got.State != store.StateRunning || last.Type != store.EventResumed || !strings.Contains(last.Message, "the server stopped during the pause") {
		t.Fatalf("pausing after the restart: %s, last event %s %q; want running with the reason", got.State, last.Type, last.Message)
	}
	var detail listedJSON
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.State != "running" {
		t.Errorf("API state %q, want running", detail.State)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || o != "kept\n" {
		t.Errorf("after the settled pause: %q exit %d", o, code)
	}

	// Resuming, not yet restored: paused again, and it resumes.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	kill()
	mark(store.StatePaused, store.StateResuming, store.EventResuming, id)
	c, kill = connect()
	defer func() { kill() }()
	got, last = settled(id)
	if got.State != store.StatePaused || last.Type != store.EventPaused || !strings.Contains(last.Message, "the server stopped during the resume") {
		t.Fatalf("resuming after the restart: %s, last event %s %q; want paused with the reason", got.State, last.Type, last.Message)
	}
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.State != "paused" {
		t.Errorf("API state %q, want paused", detail.State)
	}
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || o != "kept\n" {
		t.Errorf("after the settled resume: %q exit %d", o, code)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
