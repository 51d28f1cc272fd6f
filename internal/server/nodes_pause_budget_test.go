package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/server"
)

// TestJoinedNodePauseBudget: the per-sandbox disk budget
// (--sandbox-state-disk-mb) applies to a joined node's sandbox through
// the sizes its node reports: a pause whose files pass it is a 429
// saying so, and the sandbox runs on, on its node; with the files
// removed it pauses.
func TestJoinedNodePauseBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-budget"
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
		cfg.SandboxStateDiskMB = 64
	})
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, "10.247.25.0/24")
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
	sb := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	if o, code := sh(t, c, sb, "head -c 100M /dev/urandom > /home/user/big && sync"); code != 0 {
		t.Fatalf("write 100 MiB: %s", o)
	}
	for _, memory := range []bool{true, false} {
		code, b, _ := c.do("POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": memory})
		if code != 429 || !strings.Contains(string(b), "--sandbox-state-disk-mb") {
			t.Errorf("pause (memory %v) of a sandbox whose files pass the budget = %d %s, want 429 naming the flag", memory, code, b)
		}
	}
	waitState(t, c, sb.SandboxID, "running", time.Second)
	if info, err := d.Info(context.Background(), sb.SandboxID); err != nil || info.Status != runtime.StatusRunning {
		t.Errorf("after the refused pauses the node has the sandbox %+v, %v; want running", info, err)
	}
	if o, code := sh(t, c, sb, "rm /home/user/big && sync && echo small > /home/user/small"); code != 0 {
		t.Fatalf("remove the big file: %s", o)
	}
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": false}, nil)
	c.want(201, "POST", "/sandboxes/"+sb.SandboxID+"/connect", map[string]any{"timeout": 600}, nil)
	if o, _ := sh(t, c, sb, "cat /home/user/small"); strings.TrimSpace(o) != "small" {
		t.Errorf("file after a files-only pause within the budget: %q", o)
	}
}
