package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestPauseResumeSurvivesCrashes kills the server binary (SIGKILL) while
// it pauses or resumes a sandbox, round after round, at different
// moments: after each restart the sandbox is running or paused, never
// lost, the store's last event says how it got there (a pause or resume
// the kill caught under way, recorded pausing or resuming, is settled
// with an event giving the reason), and it can be resumed and used. At
// the end it is killed and nothing of it is left.
func TestPauseResumeSurvivesCrashes(t *testing.T) {
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
	c, kill := connect()
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	if o, code := sh(t, c, sb, "echo kept > /home/user/kept.txt"); code != 0 {
		t.Fatal(o)
	}

	for round := range 8 {
		var detail listedJSON
		c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
		op, body := "pause", map[string]any{"memory": round%4 < 2}
		if detail.State == "paused" {
			op, body = "resume", map[string]any{"timeout": 600}
		}
		// The answer never comes: the server is killed under it.
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", c.base+"/sandboxes/"+id+"/"+op, bytes.NewReader(b))
		req.Header.Set("X-API-Key", c.key)
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(time.Duration(round%4) * 60 * time.Millisecond)
		kill()

		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := st.GetSandbox(ctx, id)
		st.Close()
		c, kill = connect()
		st, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		after, err := st.GetSandbox(ctx, id)
		evs, _ := st.ListEvents(ctx, id)
		st.Close()
		if err != nil || (after.State != store.StateRunning && after.State != store.StatePaused) {
			t.Fatalf("round %d (%s): after the restart %+v %v; want running or paused", round, op, after, err)
		}
		last := evs[len(evs)-1]
		t.Logf("round %d (%s): %s before the restart, %s after; last event %s %q", round, op, before.State, after.State, last.Type, last.Message)
		if after.State == store.StatePaused && last.Type != store.EventPaused {
			t.Errorf("round %d: paused, but the last event is %+v", round, last)
		}
		if after.State == store.StateRunning && before.State != store.StateRunning && last.Type != store.EventResumed && last.Type != store.EventTimeoutExtended {
			t.Errorf("round %d: running, but the last event is %+v", round, last)
		}
		if (before.State == store.StatePausing || before.State == store.StateResuming) && !strings.Contains(last.Message, "the server stopped during the") {
			t.Errorf("round %d: the kill caught it %s; the last event %s %q does not give the reason", round, before.State, last.Type, last.Message)
		}
		if after.State == store.StatePaused && round%2 == 1 {
			// Every other round resumes in peace and uses the sandbox.
			c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
			after.State = store.StateRunning
		}
		if after.State == store.StateRunning {
			if o, code := sh(t, c, sb, "cat /home/user/kept.txt; ip -4 route show default | grep -c eth0"); code != 0 || o != "kept\n1\n" {
				t.Errorf("round %d: running sandbox: %q exit %d; want its file and its default route", round, o, code)
			}
		}
	}

	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	kill()
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/soulbox-*/" + id); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.DataDir, "checkpoints")); len(entries) > 0 {
		t.Errorf("checkpoints left: %v", entries)
	}
	links, _ := netlink.LinkList()
	for _, l := range links {
		if l.Attrs().Alias == "soulbox:"+id {
			t.Errorf("link left: %s", l.Attrs().Name)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "runtime", "sandboxes", id)); err == nil {
		t.Errorf("sandbox directory left")
	}
}
