package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestJoinedNodeLease kills a `soulbox node` child with a sandbox on it
// (SIGKILL: no drain, no goodbye). Restarted within --node-lease, the
// node keeps its sandbox, running and answering through the API URL.
// Killed past the lease, the sandbox is ended as lost with the node and
// its silence named: GET answers 404 as for any ended sandbox, the event
// log says why, the team's quota no longer counts it and creates go to
// the other node. Restarted then, the node is told to destroy it, and
// the host holds nothing of it. A sandbox the node no longer holds (its
// host rebooted) ends too, with its reason.
func TestJoinedNodeLease(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const (
		name    = "node-lease"
		timeout = time.Second
		lease   = 15 * time.Second
	)
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = timeout
		cfg.NodeLease = lease
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, "10.247.19.0/24")
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	kill := func(p *nodeProc) {
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
	}
	restart := func() *nodeProc {
		p := startNode(t, bin, "--data-dir", dir, "--listen", listen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
			"--cgroup-parent", "soulbox-test-"+name, "--network-pool", "10.247.19.0/24", "--network-uplink", "lo", "--network-dns", "127.0.0.1")
		t.Cleanup(func() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-p.done:
				p.done <- err
			case <-time.After(15 * time.Second):
			}
		})
		waitNodeStatus(t, c, name, "ready", 60*time.Second)
		waitDial(t, d, p)
		return p
	}

	// Only the joined node is ready: the create goes there.
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	embedded := ""
	for _, nd := range nodes {
		if nd.ID != name {
			embedded = nd.ID
		}
	}
	c.want(204, "POST", "/nodes/"+embedded, map[string]any{"status": "draining"}, nil)
	var sb sandboxJSON
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600})
		if code == 201 {
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create with only the joined node ready = %d %s\nnode:\n%s", code, b, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	info, err := d.Info(context.Background(), sb.SandboxID)
	if err != nil {
		t.Fatalf("the node does not hold the sandbox: %v", err)
	}
	var q quotaJSON
	c.want(200, "GET", "/quota", nil, &q)
	if q.Usage.Sandboxes != 1 {
		t.Fatalf("quota usage with one sandbox: %+v", q.Usage)
	}

	// Killed and back within the lease: nothing is lost.
	kill(n)
	waitNodeStatus(t, c, name, "unhealthy", 10*time.Second)
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, nil)
	n = restart()
	time.Sleep(2 * timeout) // the returning node is settled meanwhile
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, nil)
	if code, out := runInSandbox(t, c, sb, "echo still-here"); code != 200 || !strings.Contains(out, `"exited":true`) {
		t.Fatalf("after the node's restart within the lease, commands.run = %d %s\nnode:\n%s", code, out, n.stderr)
	}
	if list, err := d.List(context.Background()); err != nil || len(list) != 1 || list[0].ID != sb.SandboxID {
		t.Fatalf("after the restart within the lease the node holds %+v, %v", list, err)
	}

	// Killed past the lease: unhealthy first, the sandbox still
	// recorded; then lost.
	kill(n)
	waitNodeStatus(t, c, name, "unhealthy", 10*time.Second)
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID, nil, nil)
	deadline = time.Now().Add(lease + 20*time.Second)
	for {
		code, _, _ := c.do("GET", "/sandboxes/"+sb.SandboxID, nil)
		if code == 404 {
			break
		}
		if code != 200 || time.Now().After(deadline) {
			t.Fatalf("GET a sandbox of a node silent past its lease = %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, events := openEvents(t, ctx, c.base, c.key, "", "?follow=false")
	found := false
	for ev := range events {
		if ev.data.SandboxID == sb.SandboxID && ev.typ == "ended" {
			found = true
			if ev.data.Reason != "lost" || !strings.Contains(ev.data.Message, "node "+name+" silent since") {
				t.Errorf("ended event %+v, want reason lost naming the silent node", ev.data)
			}
		}
	}
	if !found {
		t.Errorf("no ended event for %s", sb.SandboxID)
	}
	c.want(200, "GET", "/quota", nil, &q)
	if q.Usage.Sandboxes != 0 {
		t.Errorf("quota usage after the sandbox was lost: %+v, want none", q.Usage)
	}
	// Creates go to the other node.
	c.want(204, "POST", "/nodes/"+embedded, map[string]any{"status": "ready"}, nil)
	var local sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 300}, &local)
	c.want(204, "DELETE", "/sandboxes/"+local.SandboxID, nil, nil)

	// Back after the lease: its lost sandbox is destroyed.
	n = restart()
	deadline = time.Now().Add(20 * time.Second)
	for {
		list, err := d.List(context.Background())
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the returning node still holds %+v, %v\nnode:\n%s", list, err, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, l := range runtimetest.HostLeftovers(sb.SandboxID, info.HostUID) {
		t.Errorf("lost sandbox %s left %s", sb.SandboxID, l)
	}
	if code, _ := sandboxCall(t, c, sb, "GET", "/health", "", nil); code != 502 && code != 404 {
		t.Errorf("the lost sandbox's agent answers %d", code)
	}

	// A sandbox recorded on the node that the node no longer holds (as
	// after its host rebooted) ends as lost.
	c.want(204, "POST", "/nodes/"+embedded, map[string]any{"status": "draining"}, nil)
	var gone sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600}, &gone)
	if err := d.Destroy(context.Background(), gone.SandboxID); err != nil {
		t.Fatalf("destroy on the node: %v", err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, _, _ := c.do("GET", "/sandboxes/"+gone.SandboxID, nil)
		if code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a sandbox its node no longer holds answers %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, events = openEvents(t, ctx, c.base, c.key, "", "?follow=false")
	reason, msg := "", ""
	for ev := range events {
		if ev.data.SandboxID == gone.SandboxID && ev.typ == "ended" {
			reason, msg = ev.data.Reason, ev.data.Message
		}
	}
	// Destroyed under a running node, the sandbox may be sampled while it
	// stops (error: its main process exited) rather than once it is gone
	// (lost): either way it ends with its reason and a message.
	if (reason != "lost" && reason != "error") || msg == "" {
		t.Errorf("a sandbox its node no longer holds ended with %q %q, want lost or error with a message", reason, msg)
	}
}
