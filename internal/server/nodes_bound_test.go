package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/server"
)

// TestJoinedNodeMaxSandboxes: a joined node started with
// --max-sandboxes 1 takes one create; the next, a moment later and
// within the same heartbeat interval, is refused saying which node is
// full, and nothing is created. The node refuses a create past its
// bound itself, too.
func TestJoinedNodeMaxSandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-max1", listen, "10.247.30.0/24", "--max-sandboxes", "1")
	d := controlPlaneDriver(t, cfg, "node-max1", listen)
	waitDial(t, d, n)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-max1" {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}

	// The first create lands on the node once its heartbeat carries its
	// service address.
	var sb sandboxJSON
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
		if code == 201 {
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			// A failure below leaves nothing on the node.
			id := sb.SandboxID
			t.Cleanup(func() { _ = d.Destroy(context.Background(), id) })
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create with only the joined node ready = %d %s\nnode:\n%s", code, b, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The second, right after: the node's last heartbeat may still say
	// it runs none, the store says it runs one.
	code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
	if (code != 503 && code != 429) || !strings.Contains(string(b), "node-max1") {
		t.Fatalf("second create on a node with --max-sandboxes 1 = %d %s; want 503 or 429 naming the node", code, b)
	}
	var listed []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &listed)
	if len(listed) != 1 || listed[0].SandboxID != sb.SandboxID {
		t.Errorf("after the refused create the API lists %+v; want only %s", listed, sb.SandboxID)
	}

	// The node is the authority on its bound: a create sent to it
	// directly past the bound is refused, naming the node and bound, and
	// creates nothing.
	_, err := d.Create(context.Background(), runtime.Spec{ID: "past-the-bound", Template: "base", Limits: runtime.Limits{CPUCount: 1, MemoryMB: 256}})
	if err == nil {
		t.Cleanup(func() { _ = d.Destroy(context.Background(), "past-the-bound") })
	}
	if !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "node-max1") || !strings.Contains(err.Error(), "--max-sandboxes 1") {
		t.Fatalf("create on the node past its bound = %v; want resource exhausted naming node-max1 and its bound", err)
	}
	if list, err := d.List(context.Background()); err != nil || len(list) != 1 || list[0].ID != sb.SandboxID {
		t.Fatalf("the node runs %+v, %v; want only %s", list, err, sb.SandboxID)
	}

	// Once the sandbox is gone, and the node's next heartbeat says so,
	// the node takes a create again.
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
		if code == 201 {
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create once the node's sandbox is gone = %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
}
