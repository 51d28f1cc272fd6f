package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestJoinedNodePauseCutShort: a control plane that stops during a
// pause or resume of a joined node's sandbox leaves it recorded pausing
// or resuming; the next pause, resume or connect after its restart
// settles it by what the node holds, then acts. Left pausing before the
// checkpoint took, it runs on and pauses; left resuming with the
// checkpoint still on the node, it is paused again and resumes with its
// memory.
func TestJoinedNodePauseCutShort(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-settle"
	bin := buildServer(t, "")
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NodeListen = freeAddr(t)
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, c, bin, "https://"+cfg.NodeListen, name, listen, "10.247.22.0/24")
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != name {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	sb := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	id := sb.SandboxID
	if o, code := sh(t, c, sb, counterServer+" for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q, want 200 \"2\"", code, body)
	}

	// cutShort stops the control plane, records the step from -> to as
	// a stop during it would have left it, and starts it again.
	cutShort := func(from, to store.SandboxState, event string) {
		t.Helper()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		err = db.SetState(ctx, id, []store.SandboxState{from}, to, store.Event{Type: event, Message: "paused to disk with its memory"})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		addr, stop = serveInProcess(t, cfg)
		c.base = "http://" + addr
		waitNodeStatus(t, c, name, "ready", 60*time.Second)
	}

	// Left pausing, the node still running it: settled running, then
	// paused.
	cutShort(store.StateRunning, store.StatePausing, store.EventPausing)
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true}, nil)
	waitState(t, c, id, "paused", time.Second)
	if _, ok, err := d.KeptCheckpoint(context.Background(), id); err != nil || !ok {
		t.Fatalf("after the settled pause the node keeps no checkpoint: %v %v", ok, err)
	}

	// Left resuming, the node holding the checkpoint: settled paused,
	// then resumed with its memory.
	cutShort(store.StatePaused, store.StateResuming, store.EventResuming)
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Errorf("counter after the settled resume: %d %q, want 200 \"3\"\nnode:\n%s", code, body, n.stderr)
	}
}
