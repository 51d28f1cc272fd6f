package server_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/nodeagent"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/testutil"
)

type nodeTokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	UsedBy    string     `json:"usedBy"`
	UsedAt    *time.Time `json:"usedAt"`
	RevokedAt *time.Time `json:"revokedAt"`
}

// nodeProc is a `soulbox node` child process.
type nodeProc struct {
	cmd    *exec.Cmd
	stderr *testutil.Buffer
	done   chan error
}

// startNode starts `soulbox node` with args. A node that runs sandboxes
// (--listen) gets no warm pool unless args ask for one (--pool-max): a
// test's node ends with SIGKILL, and its pooled sandboxes would outlive
// it (a node destroys them only at its next start).
func startNode(t testing.TB, bin string, args ...string) *nodeProc {
	t.Helper()
	if slices.Contains(args, "--listen") && !slices.Contains(args, "--pool-max") {
		args = append([]string{"--pool-max", "0"}, args...)
	}
	p := &nodeProc{cmd: exec.Command(bin, append([]string{"node"}, args...)...), stderr: &testutil.Buffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.done <- nil // later waits see it ended
		// A killed node leaves its network (the shared table, the
		// namespace directory's mount) to its next start, which here
		// never comes.
		if i := slices.Index(args, "--data-dir"); i >= 0 && i+1 < len(args) {
			tag, err := nodeagent.NetworkTag(args[i+1])
			if err == nil {
				err = network.Uninstall(tag)
			}
			if err != nil {
				t.Errorf("remove the killed node's network: %v", err)
			}
		}
	})
	return p
}

// wait waits for the process to end and returns its error.
func (p *nodeProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("soulbox node did not exit; stderr:\n%s", p.stderr)
		return nil
	}
}

// nodeStatus is the status GET /nodes lists the node with ("" unlisted).
func nodeStatus(c apiClient, id string) string {
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, n := range nodes {
		if n.ID == id {
			return n.Status
		}
	}
	return ""
}

func waitNodeStatus(t testing.TB, c apiClient, id, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := nodeStatus(c, id)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s is %q after %s, want %q", id, got, within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNodeJoin runs `soulbox node` as a child process joining the server
// over loopback: it is listed ready with its host's figures; a reused or
// revoked token is refused; killed it turns unhealthy after the timeout
// and ready again when restarted without a token; SIGTERM drains it and
// it exits cleanly.
func TestNodeJoin(t *testing.T) {
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, _ := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	cp := "https://" + nodeAddr

	// Bad token requests change nothing.
	for _, body := range []map[string]any{{"ttl": 5}, {"ttl": 9e9}, {"ttl": "1h"}, {"expires": 60}} {
		code, b, _ := c.do("POST", "/admin/node-tokens", body)
		if code != 400 || !strings.Contains(string(b), `"message"`) {
			t.Errorf("POST /admin/node-tokens %v = %d %s, want 400", body, code, b)
		}
	}
	var tokens []nodeTokenJSON
	if c.want(200, "GET", "/admin/node-tokens", nil, &tokens); len(tokens) != 0 {
		t.Fatalf("refused requests made tokens: %+v", tokens)
	}

	var tok nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok)
	if !strings.HasPrefix(tok.Token, "sbn1."+tok.ID+".") {
		t.Fatalf("token %+v", tok)
	}
	dir := t.TempDir()
	n1 := startNode(t, bin, "--control-plane", cp, "--join-token", tok.Token, "--data-dir", dir, "--name", "node-one")
	waitNodeStatus(t, c, "node-one", "ready", 30*time.Second)
	var detail nodeJSON
	c.want(200, "GET", "/nodes/node-one", nil, &detail)
	if detail.Metrics.CPUCount < 1 || detail.Metrics.MemoryTotalBytes == 0 || len(detail.Metrics.Disks) != 1 || detail.Version == "" {
		t.Errorf("joined node %+v", detail)
	}

	// The token is spent: another host with it is refused and not listed.
	other := startNode(t, bin, "--control-plane", cp, "--join-token", tok.Token, "--data-dir", t.TempDir(), "--name", "node-two")
	if err := other.wait(t); err == nil || !strings.Contains(other.stderr.String(), "already used") {
		t.Errorf("a reused token: %v\n%s", err, other.stderr)
	}
	// A revoked one too.
	var tok2 nodeTokenJSON
	c.want(201, "POST", "/admin/node-tokens", nil, &tok2)
	c.want(204, "DELETE", "/admin/node-tokens/"+tok2.ID, nil, nil)
	c.want(409, "DELETE", "/admin/node-tokens/"+tok2.ID, nil, nil)
	c.want(404, "DELETE", "/admin/node-tokens/no-such-token", nil, nil)
	revoked := startNode(t, bin, "--control-plane", cp, "--join-token", tok2.Token, "--data-dir", t.TempDir(), "--name", "node-two")
	if err := revoked.wait(t); err == nil || !strings.Contains(revoked.stderr.String(), "revoked") {
		t.Errorf("a revoked token: %v\n%s", err, revoked.stderr)
	}
	if s := nodeStatus(c, "node-two"); s != "" {
		t.Errorf("a refused node is listed %s", s)
	}
	c.want(200, "GET", "/admin/node-tokens", nil, &tokens)
	if len(tokens) != 2 || tokens[0].UsedBy != "node-one" || tokens[1].RevokedAt == nil || tokens[0].Token != "" {
		t.Errorf("tokens %+v", tokens)
	}

	// Killed: unhealthy after the timeout; restarted (no token): ready.
	_ = n1.cmd.Process.Kill()
	_ = n1.wait(t)
	waitNodeStatus(t, c, "node-one", "unhealthy", 10*time.Second)
	code, b, _ := c.do("POST", "/nodes/node-one", map[string]any{"status": "ready"})
	if code != 409 || !strings.Contains(string(b), "heartbeats resume") {
		t.Errorf("readying an unhealthy node = %d %s", code, b)
	}
	n1 = startNode(t, bin, "--data-dir", dir)
	waitNodeStatus(t, c, "node-one", "ready", 30*time.Second)

	// An admin's drain holds while it heartbeats; ready again after.
	c.want(204, "POST", "/nodes/node-one", map[string]any{"status": "draining"}, nil)
	time.Sleep(1500 * time.Millisecond) // heartbeats arrive meanwhile
	if s := nodeStatus(c, "node-one"); s != "draining" {
		t.Errorf("drained node is %s after heartbeats", s)
	}
	c.want(204, "POST", "/nodes/node-one", map[string]any{"status": "ready"}, nil)
	waitNodeStatus(t, c, "node-one", "ready", 5*time.Second)

	// SIGTERM: the node reports draining and exits cleanly.
	_ = n1.cmd.Process.Signal(syscall.SIGTERM)
	if err := n1.wait(t); err != nil {
		t.Errorf("soulbox node after SIGTERM: %v\n%s", err, n1.stderr)
	}
	if s := nodeStatus(c, "node-one"); s != "draining" {
		t.Errorf("a node stopped by SIGTERM is %s", s)
	}
	if _, err := filepath.Abs(dir); err != nil {
		t.Fatal(err)
	}
}

// TestDrainEmbeddedNode: draining the server's own node makes creates
// answer 503 saying no node is ready, creating nothing; ready again,
// creates work. Bad status changes are refused.
func TestDrainEmbeddedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)
	waitReady(t, c)
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	if len(nodes) != 1 || nodes[0].Status != "ready" {
		t.Fatalf("nodes %+v", nodes)
	}
	id := nodes[0].ID
	for _, tc := range []struct {
		path string
		body any
		code int
		says string
	}{
		{"/nodes/" + id, map[string]any{"status": "unhealthy"}, 400, `want \"ready\" or \"draining\"`},
		{"/nodes/" + id, map[string]any{}, 400, "status"},
		{"/nodes/" + id, map[string]any{"status": "draining", "extra": 1}, 400, "extra"},
		{"/nodes/" + id, map[string]any{"status": "draining", "clusterID": "nope"}, 400, "clusterID"},
		{"/nodes/no-such-node", map[string]any{"status": "draining"}, 404, "no-such-node"},
	} {
		code, b, _ := c.do("POST", tc.path, tc.body)
		if code != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("POST %s %v = %d %s, want %d saying %s", tc.path, tc.body, code, b, tc.code, tc.says)
		}
	}
	if s := nodeStatus(c, id); s != "ready" {
		t.Fatalf("refused changes left the node %s", s)
	}

	c.want(204, "POST", "/nodes/"+id, map[string]any{"status": "draining", "clusterID": "00000000-0000-0000-0000-000000000000"}, nil)
	if s := nodeStatus(c, id); s != "draining" {
		t.Fatalf("drained node is %s", s)
	}
	code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base"})
	if code != 503 || !strings.Contains(string(b), "no node is ready") || !strings.Contains(string(b), id+" is draining") {
		t.Errorf("create on a drained server = %d %s", code, b)
	}
	var list []listedJSON
	if c.want(200, "GET", "/v2/sandboxes", nil, &list); len(list) != 0 {
		t.Errorf("a refused create left %+v", list)
	}
	c.want(204, "POST", "/nodes/"+id, map[string]any{"status": "ready"}, nil)
	sb := create(t, c, map[string]any{"timeout": 60})

	// A fork is a new sandbox too: refused while draining, nothing made.
	c.want(204, "POST", "/nodes/"+id, map[string]any{"status": "draining"}, nil)
	code, b, _ = c.do("POST", "/sandboxes/"+sb.SandboxID+"/fork", map[string]any{"count": 1})
	if code != 503 || !strings.Contains(string(b), "no node is ready") {
		t.Errorf("fork on a drained server = %d %s", code, b)
	}
	if c.want(200, "GET", "/v2/sandboxes", nil, &list); len(list) != 1 {
		t.Errorf("a refused fork left %+v", list)
	}
	var snaps []map[string]any
	if c.want(200, "GET", "/snapshots", nil, &snaps); len(snaps) != 0 {
		t.Errorf("a refused fork left snapshots %+v", snaps)
	}
	c.want(204, "POST", "/nodes/"+id, map[string]any{"status": "ready"}, nil)
}
