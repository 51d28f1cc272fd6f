package server_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestJoinedNodePausedPastLease: a sandbox paused with its memory on a
// joined node that is then killed (SIGKILL) and silent past
// --node-lease stays paused, as it runs nothing; the node restarted,
// it resumes with its memory, its counter on.
func TestJoinedNodePausedPastLease(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const (
		name  = "node-paused-lease"
		pool  = "10.247.28.0/24"
		lease = 10 * time.Second
	)
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
		cfg.NodeLease = lease
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, pool)
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		if nd.ID != name {
			c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
		}
	}
	var made []string
	sb := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	id := sb.SandboxID
	if o, code := sh(t, c, sb, counterServer+" for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q", code, body)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true}, nil)
	_ = n.cmd.Process.Kill()
	err := <-n.done
	n.done <- err

	// Past the lease (the keeper checks every sixth of the heartbeat
	// timeout): still paused.
	time.Sleep(lease + 3*time.Second)
	if st := storedSandbox(t, cfg, id); st.State != "paused" {
		t.Errorf("a paused sandbox whose node is silent past the lease is %s %s %q, want paused", st.State, st.EndReason, st.EndMessage)
	}

	n = startNode(t, bin, "--data-dir", dir, "--listen", listen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-"+name, "--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1")
	t.Cleanup(func() {
		c.do("DELETE", "/sandboxes/"+id, nil)
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-n.done:
			n.done <- err
		case <-time.After(15 * time.Second):
		}
	})
	waitNodeStatus(t, c, name, "ready", 60*time.Second)
	waitDial(t, d, n)
	time.Sleep(6 * time.Second) // the settle of the returning node and a monitor pass
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Errorf("counter after the node's return past the lease and a resume: %d %q, want 200 \"3\"", code, body)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
