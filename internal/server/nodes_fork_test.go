package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// TestJoinedNodeFork: a running sandbox on a joined node forks on that
// node with its processes and memory: each fork has its source's
// counter and its own from then on, and the source runs on. The node's
// clone checkpoint is gone afterwards. A fork, itself restored, forks
// with its memory too. A paused source is refused with a 409 naming the
// node, and nothing is made.
func TestJoinedNodeFork(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-fork"
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, "10.247.23.0/24")
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
	})
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != name {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	ctx := context.Background()
	src := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	if o, code := sh(t, c, src, counterServer+" echo from-src > /home/user/state.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q", code, body)
	}

	var res []forkResultJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/fork", map[string]any{"count": 2, "timeout": 300}, &res)
	if len(res) != 2 {
		t.Fatalf("fork of 2 answered %d results", len(res))
	}
	for _, r := range res {
		if r.Sandbox != nil {
			made = append(made, r.Sandbox.SandboxID)
		}
	}
	var forks []sandboxJSON
	for i, r := range res {
		if r.Sandbox == nil || r.Error != nil {
			t.Fatalf("fork %d on the joined node: %+v\nnode:\n%s", i, r.Error, n.stderr)
		}
		forks = append(forks, *r.Sandbox)
	}
	for _, f := range forks {
		if _, err := d.Info(ctx, f.SandboxID); err != nil {
			t.Errorf("fork %s is not on the joined node: %v", f.SandboxID, err)
		}
		if code, body := proxied(t, c, f.SandboxID, "8000"); code != 200 || body != "3" {
			t.Errorf("fork %s's counter: %d %q, want 200 \"3\" (its source's memory)", f.SandboxID, code, body)
		}
		if o, _ := sh(t, c, f, "cat /home/user/state.txt"); strings.TrimSpace(o) != "from-src" {
			t.Errorf("fork %s's file: %q", f.SandboxID, o)
		}
	}
	// Independent afterwards: the first fork counts on alone.
	if code, body := proxied(t, c, forks[0].SandboxID, "8000"); code != 200 || body != "4" {
		t.Errorf("first fork's counter again: %d %q, want \"4\"", code, body)
	}
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "3" {
		t.Errorf("source's counter after the forks: %d %q, want \"3\"", code, body)
	}
	var detail listedJSON
	c.want(200, "GET", "/sandboxes/"+src.SandboxID, nil, &detail)
	if detail.State != "running" {
		t.Errorf("source after the fork: %q", detail.State)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "clone.*")); len(left) != 0 {
		t.Errorf("clone checkpoints left on the node: %v", left)
	}

	// A restored sandbox is checkpointed again: a fork forks with its
	// memory (the first fork's counter, at "4", goes on at "5" in its
	// fork and in itself).
	var again []forkResultJSON
	code, b, _ := c.do("POST", "/sandboxes/"+forks[0].SandboxID+"/fork", map[string]any{"count": 1, "timeout": 300})
	if err := json.Unmarshal(b, &again); err != nil && code == 201 {
		t.Fatalf("fork of a fork: %s", b)
	}
	for _, r := range again {
		if r.Sandbox != nil {
			made = append(made, r.Sandbox.SandboxID)
		}
	}
	if code != 201 || len(again) != 1 || again[0].Sandbox == nil {
		t.Fatalf("fork of a restored sandbox on a joined node = %d %s, want 201 with one fork\nnode:\n%s", code, b, n.stderr)
	}
	grand := *again[0].Sandbox
	if _, err := d.Info(ctx, grand.SandboxID); err != nil {
		t.Errorf("fork of a fork %s is not on the joined node: %v", grand.SandboxID, err)
	}
	if code, body := proxied(t, c, grand.SandboxID, "8000"); code != 200 || body != "5" {
		t.Errorf("fork of a fork's counter: %d %q, want 200 \"5\" (its source's memory)", code, body)
	}
	if code, body := proxied(t, c, forks[0].SandboxID, "8000"); code != 200 || body != "5" {
		t.Errorf("first fork's counter after its own fork: %d %q, want \"5\"", code, body)
	}

	// What a joined node cannot fork: a paused sandbox, refused, nothing
	// made.
	c.want(204, "POST", "/sandboxes/"+forks[1].SandboxID+"/pause", map[string]any{"memory": false}, nil)
	code, b, _ = c.do("POST", "/sandboxes/"+forks[1].SandboxID+"/fork", map[string]any{"count": 1})
	if code != 409 || !strings.Contains(string(b), name) {
		t.Errorf("fork of a paused sandbox on a joined node = %d %s, want 409 naming the node", code, b)
	}
	if list, err := d.List(ctx); err != nil || len(list) != 4 {
		t.Errorf("after the refused fork the node holds %d sandboxes (%v), want 4", len(list), err)
	}
	if left, err := os.ReadDir(filepath.Join(dir, "checkpoints")); err != nil || len(left) != 0 {
		t.Errorf("after the forks the node's checkpoint directory holds %v, %v", left, err)
	}
}
