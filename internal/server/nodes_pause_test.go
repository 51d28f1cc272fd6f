package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// createOnNode creates a sandbox with body once the joined node is a
// place for it (the embedded node drained), waiting for its first
// heartbeat with its service address.
func createOnNode(t testing.TB, c apiClient, n *nodeProc, body map[string]any, made *[]string) sandboxJSON {
	t.Helper()
	body["templateID"] = "base"
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", body)
		if code == 201 {
			var sb sandboxJSON
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			*made = append(*made, sb.SandboxID)
			return sb
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create with only the joined node ready = %d %s\nnode:\n%s", code, b, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestJoinedNodePause: a sandbox on a joined node (a `soulbox node`
// child) pauses and resumes through the server's API as the embedded
// node's do. With its memory: the node checkpoints it into its own data
// dir, its cgroups go, and the resume restores it on the node with its
// Python server's counter continued. With its files only: the resume
// boots it again, files kept, processes gone. A client leaving during
// a pause does not leave record and node disagreeing. A pause or resume
// while the node is down is a 503 that records nothing; a node
// restarted while a sandbox is paused sweeps the checkpoints nothing
// owns and resumes it. autoPause at the timeout and autoResume by a
// request through the proxy work as on the embedded node, and a kill
// removes the node's checkpoint.
func TestJoinedNodePause(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	const name = "node-pause"
	const pool = "10.247.21.0/24"
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
	// Whatever the test's end, its sandboxes are killed while the node
	// (the last one started) runs, which then stops.
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			if code, b, _ := c.do("DELETE", "/sandboxes/"+id, nil); code != 204 && code != 404 {
				t.Logf("kill %s at the end: %d %s", id, code, b)
			}
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
	ctx := context.Background()
	startCounter := func(sb sandboxJSON) {
		t.Helper()
		if o, code := sh(t, c, sb, counterServer+" echo kept > /home/user/kept.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
			t.Fatalf("counter server did not start: %s", o)
		}
	}

	// With its memory: checkpointed on the node, restored there.
	sb := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	id := sb.SandboxID
	if _, err := d.Info(ctx, id); err != nil {
		t.Fatalf("the sandbox is not on the joined node: %v", err)
	}
	startCounter(sb)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q, want 200 \"2\"", code, body)
	}

	// The node's checkpoint calls refuse bad input in its category, and
	// never reach outside its checkpoint directory.
	if _, _, err := d.KeptCheckpoint(ctx, "../escape"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("kept checkpoint of a bad id: %v, want invalid argument", err)
	}
	if err := d.RestoreKept(ctx, id); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), name) {
		t.Errorf("restore of a running sandbox with no checkpoint: %v, want not found naming the node", err)
	}
	if _, err := d.KeepCheckpoint(ctx, "no-such-sandbox"); !errdefs.IsNotFound(err) {
		t.Errorf("checkpoint of no sandbox: %v, want not found", err)
	}
	for _, bad := range []string{"../../etc", "clone.", "clone.0123456789abcdeg", id} {
		if err := d.DropClone(ctx, id, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("drop clone %q: %v, want invalid argument", bad, err)
		}
		if err := d.RestoreKeptClone(ctx, runtime.Spec{ID: "clone-target", Template: "base"}, bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("restore clone %q: %v, want invalid argument", bad, err)
		}
	}
	if err := d.RestoreKeptClone(ctx, runtime.Spec{ID: "clone-target", Template: "base"}, "clone.0123456789abcdef"); !errdefs.IsNotFound(err) {
		t.Errorf("restore of no clone checkpoint: %v, want not found", err)
	}
	if info, err := d.Info(ctx, id); err != nil || info.Status != runtime.StatusRunning {
		t.Errorf("after the refused calls the sandbox is %+v, %v; want running", info, err)
	}

	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true}, nil)
	waitState(t, c, id, "paused", time.Second)
	if info, err := d.Info(ctx, id); err != nil || info.Status != runtime.StatusStopped {
		t.Errorf("paused with its memory, on the node it is %+v, %v; want stopped", info, err)
	}
	if size, ok, err := d.KeptCheckpoint(ctx, id); err != nil || !ok || size <= 0 {
		t.Errorf("the node keeps no checkpoint of the paused sandbox: %d %v %v", size, ok, err)
	}
	if dirs := cgroupsOf(t, id); len(dirs) > 0 {
		t.Errorf("paused to disk on the node, the sandbox still has cgroups (memory held): %v", dirs)
	}
	c.want(409, "POST", "/sandboxes/"+id+"/pause", nil, nil)
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Errorf("counter after resume on the node: %d %q, want 200 \"3\" (its memory kept)\nnode:\n%s", code, body, n.stderr)
	}
	if o, _ := sh(t, c, sb, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "kept" {
		t.Errorf("file after resume: %q", o)
	}
	if _, ok, err := d.KeptCheckpoint(ctx, id); err != nil || ok {
		t.Errorf("after the restore the node still keeps the checkpoint: %v %v", ok, err)
	}
	c.want(409, "POST", "/sandboxes/"+id+"/resume", nil, nil)

	// With its files only: booted again on the node.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	waitState(t, c, id, "paused", time.Second)
	if dirs := cgroupsOf(t, id); len(dirs) > 0 {
		t.Errorf("paused with its files on the node, the sandbox still has cgroups: %v", dirs)
	}
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if code, _ := proxied(t, c, id, "8000"); code != 502 {
		t.Errorf("counter after a filesystem-only pause answers %d; its process should be gone", code)
	}
	if o, _ := sh(t, c, sb, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "kept" {
		t.Errorf("file after a filesystem-only resume on the node: %q", o)
	}

	// A client that goes away during a pause does not cut it short on
	// the node behind the record's back: it ends paused, and resumes.
	mem := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	startCounter(mem)
	// The client goes away once the pause is recorded under way, while
	// the node checkpoints.
	reqCtx, leave := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, "POST", c.base+"/sandboxes/"+mem.SandboxID+"/pause", strings.NewReader(`{"memory":true}`))
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan string, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		resp.Body.Close()
		answered <- resp.Status
	}()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		evs, err := db.ListEvents(ctx, mem.SandboxID)
		if err != nil {
			t.Fatal(err)
		}
		if evs[len(evs)-1].Type == store.EventPausing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pause was not recorded under way: %v", <-answered)
		}
	}
	db.Close()
	// Past the node's preparations, into CRIU's dump.
	time.Sleep(150 * time.Millisecond)
	leave()
	t.Logf("the client left the pause: %s", <-answered)
	// Once begun, the pause completes: record and node agree.
	var state string
	for deadline := time.Now().Add(60 * time.Second); state != "paused" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var got listedJSON
		c.want(200, "GET", "/sandboxes/"+mem.SandboxID, nil, &got)
		state = got.State
	}
	info, err := d.Info(ctx, mem.SandboxID)
	if state != "paused" || err != nil || info.Status != runtime.StatusStopped {
		t.Errorf("a pause its client left is recorded %s while the node has it %+v, %v; want paused and stopped", state, info.Status, err)
	}
	if _, kept, err := d.KeptCheckpoint(ctx, mem.SandboxID); err != nil || !kept {
		t.Errorf("a pause its client left: the node keeps a complete checkpoint %v, %v", kept, err)
	}
	if code, b, _ := c.do("POST", "/sandboxes/"+mem.SandboxID+"/connect", map[string]any{"timeout": 600}); code != 201 {
		t.Fatalf("connect after a pause its client left = %d %s, want 201 (resumed)", code, b)
	}
	if code, body := proxied(t, c, mem.SandboxID, "8000"); code != 200 || body != "2" {
		t.Errorf("counter after a pause its client left: %d %q, want 200 \"2\"\nnode:\n%s", code, body, n.stderr)
	}

	// A second sandbox is paused with its memory; the node goes down.
	other := createOnNode(t, c, n, map[string]any{"timeout": 600}, &made)
	startCounter(other)
	c.want(204, "POST", "/sandboxes/"+other.SandboxID+"/pause", nil, nil)
	_ = n.cmd.Process.Kill()
	err = <-n.done
	n.done <- err

	// A pause while the node is down: 503, nothing changed.
	before := len(sandboxEvents(t, cfg, id))
	code, b, _ := c.do("POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true})
	if code != 503 || !strings.Contains(string(b), name) {
		t.Errorf("pause of a sandbox whose node is down = %d %s, want 503 naming the node", code, b)
	}
	waitState(t, c, id, "running", time.Second)
	if got := len(sandboxEvents(t, cfg, id)); got != before {
		t.Errorf("a refused pause recorded %d events", got-before)
	}
	// So is a resume: it stays paused.
	nEvents := len(sandboxEvents(t, cfg, other.SandboxID))
	code, b, _ = c.do("POST", "/sandboxes/"+other.SandboxID+"/connect", map[string]any{"timeout": 600})
	if code != 503 || !strings.Contains(string(b), name) {
		t.Errorf("connect to a paused sandbox whose node is down = %d %s, want 503 naming the node", code, b)
	}
	waitState(t, c, other.SandboxID, "paused", time.Second)

	// What no sandbox of the node owns (a sandbox destroyed while it
	// was down, a fork's clone checkpoint, a pause cut short) is swept
	// at its start; the paused sandbox's checkpoint is kept.
	stale := []string{"gone-sandbox", "clone.0123456789abcdef", other.SandboxID + ".partial"}
	for _, name := range stale {
		if err := os.MkdirAll(filepath.Join(dir, "checkpoints", name, "images"), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	// The node restarts: the paused sandbox resumes, its counter on;
	// the running one was never paused.
	n = startNode(t, bin, "--data-dir", dir, "--listen", listen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-"+name, "--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1")
	waitNodeStatus(t, c, name, "ready", 60*time.Second)
	waitDial(t, d, n)
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, "checkpoints", name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unowned checkpoint %s after the node's restart: %v", name, err)
		}
	}
	waitState(t, c, other.SandboxID, "paused", time.Second)
	if got := len(sandboxEvents(t, cfg, other.SandboxID)); got != nEvents {
		t.Errorf("a refused connect recorded %d events", got-nEvents)
	}
	c.want(201, "POST", "/sandboxes/"+other.SandboxID+"/connect", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, other.SandboxID, "8000"); code != 200 || body != "2" {
		t.Errorf("counter after the node's restart and a resume: %d %q, want 200 \"2\"\nnode:\n%s", code, body, n.stderr)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || strings.TrimSpace(o) != "kept" {
		t.Errorf("the sandbox whose pause was refused: %d %q", code, o)
	}

	// autoPause at the timeout, autoResume by a request.
	// Made with time for the setup, however loaded the host; the timeout
	// is shortened once the setup is done.
	auto := createOnNode(t, c, n, map[string]any{"timeout": 600, "autoPause": true, "autoResume": map[string]any{"enabled": true}}, &made)
	if o, code := sh(t, c, auto, counterServer+" for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	c.want(204, "POST", "/sandboxes/"+auto.SandboxID+"/timeout", map[string]any{"timeout": 3}, nil)
	waitState(t, c, auto.SandboxID, "paused", 30*time.Second)
	if _, ok, err := d.KeptCheckpoint(ctx, auto.SandboxID); err != nil || !ok {
		t.Errorf("auto-paused, the node keeps no checkpoint: %v %v", ok, err)
	}
	if code, body := proxied(t, c, auto.SandboxID, "8000"); code != 200 || body != "2" {
		t.Errorf("request to an auto-paused sandbox on the node with autoResume: %d %q, want 200 \"2\"", code, body)
	}
	waitState(t, c, auto.SandboxID, "running", time.Second)
	// autoPauseMemory false: its files only, and no auto-resume.
	fsAuto := createOnNode(t, c, n, map[string]any{"timeout": 600, "autoPause": true, "autoPauseMemory": false}, &made)
	if o, code := sh(t, c, fsAuto, "echo kept > /home/user/kept.txt"); code != 0 {
		t.Fatal(o)
	}
	c.want(204, "POST", "/sandboxes/"+fsAuto.SandboxID+"/timeout", map[string]any{"timeout": 3}, nil)
	waitState(t, c, fsAuto.SandboxID, "paused", 30*time.Second)
	if code, body := proxied(t, c, fsAuto.SandboxID, "49983"); code != 502 {
		t.Errorf("request to a filesystem-only auto-paused sandbox on the node: %d %q, want 502", code, body)
	}
	waitState(t, c, fsAuto.SandboxID, "paused", time.Second)
	c.want(201, "POST", "/sandboxes/"+fsAuto.SandboxID+"/connect", map[string]any{"timeout": 60}, nil)
	if o, _ := sh(t, c, fsAuto, "cat /home/user/kept.txt"); strings.TrimSpace(o) != "kept" {
		t.Errorf("file after connect to a filesystem-only auto-paused sandbox on the node: %q", o)
	}

	// Killed while paused: the node's checkpoint goes with it.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": true}, nil)
	if _, ok, err := d.KeptCheckpoint(ctx, id); err != nil || !ok {
		t.Errorf("paused with its memory, the node keeps no checkpoint: %v %v", ok, err)
	}
	for _, s := range []string{id, other.SandboxID, auto.SandboxID, mem.SandboxID, fsAuto.SandboxID} {
		c.want(204, "DELETE", "/sandboxes/"+s, nil, nil)
	}
	if list, err := d.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("after kill the node holds %+v, %v", list, err)
	}
	if left, err := os.ReadDir(filepath.Join(dir, "checkpoints")); err != nil || len(left) != 0 {
		t.Errorf("after kill the node's checkpoint directory holds %v, %v", left, err)
	}
	c.want(404, "POST", "/sandboxes/"+id+"/pause", nil, nil)
	c.want(404, "POST", "/sandboxes/"+id+"/resume", nil, nil)
}

// sandboxEvents reads sandbox id's recorded events from the server's
// store (SQLite allows a reader beside the running server).
func sandboxEvents(t *testing.T, cfg server.Config, id string) []store.Event {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.ListEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
