package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestUnreachableNodeIsSkipped: a `soulbox node` that joins and
// heartbeats but advertises a sandbox service address nothing listens
// on (a wrong --advertise) is listed unhealthy saying its service does
// not answer, and creates go to the good node beside it with nothing
// made on the bad one; when the good node is drained, the refusal says
// why the bad one cannot take the create.
func TestUnreachableNodeIsSkipped(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	goodListen := freeAddr(t)
	good, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, "node-good", goodListen, "10.247.40.0/24")
	goodDriver := controlPlaneDriver(t, cfg, "node-good", goodListen)
	waitDial(t, goodDriver, good)

	// The bad node serves on badListen but tells the control plane to
	// dial wrongAddr, where nothing listens.
	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok)
	badListen, wrongAddr := freeAddr(t), freeAddr(t)
	bad := startNode(t, bin, "--control-plane", "https://"+nodeAddr, "--join-token", tok.Token, "--data-dir", ocitest.Root(t),
		"--name", "node-bad", "--listen", badListen, "--advertise", wrongAddr, "--templates-dir", ocitest.TemplateCache(),
		"--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-test-node-bad", "--network-pool", "10.247.41.0/24",
		"--network-uplink", "lo", "--network-dns", "127.0.0.1")
	badDriver := controlPlaneDriver(t, cfg, "node-bad", badListen)
	waitDial(t, badDriver, bad)

	type listed struct {
		ID, Status, StatusReason string
	}
	nodeByID := func(id string) listed {
		t.Helper()
		var ns []listed
		c.want(200, "GET", "/nodes", nil, &ns)
		for _, n := range ns {
			if n.ID == id {
				return n
			}
		}
		return listed{}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := nodeByID("node-bad")
		if n.Status == "unhealthy" && strings.Contains(n.StatusReason, wrongAddr) && strings.Contains(n.StatusReason, "does not answer") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node-bad, advertising %s where nothing listens, is listed %+v; want unhealthy saying its service at that address does not answer\nnode:\n%s",
				wrongAddr, n, bad.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var one struct {
		Status       string `json:"status"`
		StatusReason string `json:"statusReason"`
	}
	c.want(200, "GET", "/nodes/node-bad", nil, &one)
	if one.Status != "unhealthy" || !strings.Contains(one.StatusReason, wrongAddr) {
		t.Errorf("GET /nodes/node-bad = %+v; want unhealthy with the reason", one)
	}
	if n := nodeByID("node-good"); n.Status != "ready" || n.StatusReason != "" {
		t.Errorf("node-good is listed %+v; want ready, no reason", n)
	}

	// Only the two joined nodes take creates.
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != "node-good" && nd.ID != "node-bad" {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	var ids []string
	for len(ids) < 3 {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
		if code != 201 {
			t.Fatalf("create beside an unreachable node = %d %s", code, b)
		}
		var sb sandboxJSON
		if err := json.Unmarshal(b, &sb); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sb.SandboxID)
		id := sb.SandboxID
		t.Cleanup(func() { _ = goodDriver.Destroy(context.Background(), id) })
	}
	onGood, err := goodDriver.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(onGood) != len(ids) {
		t.Errorf("node-good runs %d sandboxes; want the %d created", len(onGood), len(ids))
	}
	if onBad, err := badDriver.List(context.Background()); err != nil || len(onBad) != 0 {
		t.Errorf("node-bad runs %+v, %v; want nothing", onBad, err)
	}

	// With node-good drained nothing can take a create: the refusal
	// names node-bad's reason and nothing is created.
	c.want(204, "POST", "/nodes/node-good", map[string]any{"status": "draining"}, nil)
	code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300})
	if code != 503 || !strings.Contains(string(b), "node node-bad cannot be reached") || !strings.Contains(string(b), wrongAddr) {
		t.Fatalf("create with only the unreachable node ready = %d %s; want 503 saying node-bad cannot be reached at %s", code, b, wrongAddr)
	}
	var live []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &live)
	if len(live) != len(ids) {
		t.Errorf("after the refused create the API lists %d sandboxes; want %d", len(live), len(ids))
	}
	if onBad, err := badDriver.List(context.Background()); err != nil || len(onBad) != 0 {
		t.Errorf("node-bad runs %+v, %v after the refused create; want nothing", onBad, err)
	}
	for _, id := range ids {
		c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	}
}
