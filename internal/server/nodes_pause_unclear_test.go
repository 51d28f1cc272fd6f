package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// storedSandbox reads sandbox id's record from the server's store (the
// API shows a pausing sandbox as running).
func storedSandbox(t *testing.T, cfg server.Config, id string) store.Sandbox {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sb, err := db.GetSandbox(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// TestJoinedNodePauseNodeKilled: a joined node killed while it
// checkpoints a sandbox leaves unclear what it did; the record is not
// put back to running (which would have the monitor end a sandbox whose
// processes the dump stopped, with its files) but left pausing, and
// once the node is back it is settled by what the node holds (by the
// leader's monitor pass or the next connect) and the sandbox works, its
// file kept.
func TestJoinedNodePauseNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-unclear"
	const pool = "10.247.26.0/24"
	bin := buildServer(t, "")
	nodeAddr := freeAddr(t)
	c, cfg := runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
	})
	listen := freeAddr(t)
	n, dir := joinRunningNode(t, c, bin, "https://"+nodeAddr, name, listen, pool)
	d := controlPlaneDriver(t, cfg, name, listen)
	waitDial(t, d, n)
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-n.done:
			n.done <- err
		case <-time.After(15 * time.Second):
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
	// Memory enough that the dump takes a while.
	if o, code := sh(t, c, sb, "echo kept > /home/user/kept.txt; head -c 200000000 /dev/zero | tr '\\0' x > /dev/shm/fill; echo ok"); code != 0 {
		t.Fatalf("prepare the sandbox: %d %s", code, o)
	}

	paused := make(chan int, 1)
	go func() {
		code, _, _ := c.do("POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true})
		paused <- code
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st := storedSandbox(t, cfg, id).State; st == store.StatePausing {
			break
		} else if st != store.StateRunning || time.Now().After(deadline) {
			t.Fatalf("waiting for the pause to be recorded, the sandbox is %s", st)
		}
	}
	time.Sleep(100 * time.Millisecond) // the node is asked and dumping
	_ = n.cmd.Process.Kill()
	err := <-n.done
	n.done <- err
	var code int
	select {
	case code = <-paused:
	case <-time.After(60 * time.Second):
		t.Fatal("the pause did not answer once its node was killed")
	}
	t.Logf("pause with its node killed mid-dump: %d, recorded %s", code, storedSandbox(t, cfg, id).State)
	if code == 204 || code == 500 {
		t.Errorf("pause whose node was killed mid-dump = %d, want 503", code)
	}
	if st := storedSandbox(t, cfg, id).State; st == store.StateRunning || st == store.StateEnded {
		t.Errorf("after the node was killed mid-pause the sandbox is recorded %s, want pausing (or paused)", st)
	}

	// The node comes back; the monitor samples meanwhile.
	n = startNode(t, bin, "--data-dir", dir, "--listen", listen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-"+name, "--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1")
	waitNodeStatus(t, c, name, "ready", 60*time.Second)
	waitDial(t, d, n)
	time.Sleep(6 * time.Second) // a monitor pass (every 5 s)
	if st := storedSandbox(t, cfg, id); st.State != store.StatePausing && st.State != store.StatePaused && st.State != store.StateRunning {
		t.Fatalf("after the node's return the sandbox is %s (%s)\nnode:\n%s", st.State, st.EndReason, n.stderr)
	}
	// Which way the pause settles depends on where the kill cut the
	// dump: before the node stopped the processes the sandbox runs on
	// (the leader's settling, each monitor pass, may already have
	// recorded it so: connect answers 200), after it is paused with its
	// files (connect resumes it: 201). Either way it is not lost.
	if code, b, _ := c.do("POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}); code != 200 && code != 201 {
		t.Fatalf("connect after the node's return = %d %s, want 200 (it ran on) or 201 (resumed)", code, b)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || strings.TrimSpace(o) != "kept" {
		t.Errorf("the sandbox after its settled pause and a connect: %d %q\nnode:\n%s", code, o, n.stderr)
	}
	if st := storedSandbox(t, cfg, id).State; st != store.StateRunning {
		t.Errorf("after the connect the sandbox is %s, want running", st)
	}
	for _, ev := range sandboxEvents(t, cfg, id) {
		t.Logf("event %s: %s", ev.Type, ev.Message)
	}
	// Killed while the node runs (the cleanup stops the node first).
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
