package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// withStore runs fn on the server's store, opened apart from the server
// (SQLite takes both).
func withStore(t *testing.T, cfg server.Config, fn func(st *sqlite.Store)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// waitPausedUploaded waits until the pause of sandbox id is recorded in
// object storage and returns the record.
func waitPausedUploaded(t *testing.T, cfg server.Config, id string) store.CheckpointObject {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var rec store.CheckpointObject
		var err error
		withStore(t, cfg, func(st *sqlite.Store) { rec, err = st.CheckpointObject(context.Background(), id) })
		if err == nil {
			return rec
		}
		if !errdefs.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("the pause of %s was not recorded in object storage: %v", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodeHostClean fails the test if anything of sandbox id is left on the
// host of the node with data dir dir and cgroup parent parent: its
// directory, a mount under it, a cgroup, a transfer under way.
func nodeHostClean(t *testing.T, dir, parent, id string) {
	t.Helper()
	sbDir := filepath.Join(dir, "runtime", "sandboxes", id)
	if _, err := os.Stat(sbDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox %s left its directory %s (%v)", id, sbDir, err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, sbDir) {
			t.Errorf("sandbox %s left a mount: %s", id, l)
		}
	}
	cgs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent, id))
	if more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", parent, id)); len(more) > 0 {
		cgs = append(cgs, more...)
	}
	if len(cgs) > 0 {
		t.Errorf("sandbox %s left cgroups %v", id, cgs)
	}
	if es, _ := os.ReadDir(filepath.Join(dir, "checkpoints-transfers")); len(es) > 0 {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("transfers left on the node: %v", names)
	}
}

// TestJoinedNodeMovePaused: sandboxes paused on a joined node (a `soulbox
// node` child) that is then killed (SIGKILL) resume on another joined
// node sharing the bucket. Paused with its memory and resumed by a
// request through the proxy (autoResume): its Python counter goes on and
// a file written before the pause is there, commands work through the
// proxy, and the store records the new node. Paused with
// its files only: booted again there, files kept. A blob corrupted in
// or gone from the bucket is refused (503 naming the node, never a 404
// saying the sandbox is gone) and a pause whose upload never completed
// is a 503 naming why: all leave the sandbox paused and nothing on the
// other node. Killed, the moved sandboxes leave nothing on the new
// node's host; the killed node, started again, removes what it kept of
// them.
func TestJoinedNodeMovePaused(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes on two joined nodes")
	}
	const (
		nameA, poolA = "node-move-a", "10.247.36.0/24"
		nameB, poolB = "node-move-b", "10.247.37.0/24"
	)
	bin, s3, nodeAddr, c, cfg, s3Flags := bucketControlPlane(t)

	// Two sandboxes on node A, the only node ready.
	listenA := freeAddr(t)
	a, dirA := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameA, listenA, poolA, s3Flags...)
	dA := controlPlaneDriver(t, cfg, nameA, listenA)
	waitDial(t, dA, a)
	var made []string
	mem := createOnNode(t, c, a, map[string]any{"timeout": 600, "autoPause": true, "autoResume": map[string]any{"enabled": true}}, &made)
	files := createOnNode(t, c, a, map[string]any{"timeout": 600}, &made)
	if o, code := sh(t, c, mem, counterServer+" echo kept > /home/user/kept.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, mem.SandboxID, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q, want 200 \"2\"", code, body)
	}
	if o, code := sh(t, c, files, "echo files-kept > /home/user/files.txt && sleep 1000 >/dev/null 2>&1 &"); code != 0 {
		t.Fatalf("write a file: %s", o)
	}
	c.want(204, "POST", "/sandboxes/"+mem.SandboxID+"/pause", map[string]any{"memory": true}, nil)
	c.want(204, "POST", "/sandboxes/"+files.SandboxID+"/pause", map[string]any{"memory": false}, nil)
	memRec := waitPausedUploaded(t, cfg, mem.SandboxID)
	filesRec := waitPausedUploaded(t, cfg, files.SandboxID)

	// Node A is killed; node B joins with the same bucket.
	_ = a.cmd.Process.Kill()
	err := <-a.done
	a.done <- err
	listenB := freeAddr(t)
	b, dirB := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameB, listenB, poolB, s3Flags...)
	dB := controlPlaneDriver(t, cfg, nameB, listenB)
	waitDial(t, dB, b)
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
	})
	ctx := context.Background()
	stillPaused := func(id, node string) {
		t.Helper()
		if st := storedSandbox(t, cfg, id); st.State != store.StatePaused || st.Node != node {
			t.Errorf("sandbox %s after a refused move is %s on %q, want paused on %s", id, st.State, st.Node, node)
		}
		if list, err := dB.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("node B holds %+v (%v) after a refused move, want nothing", list, err)
		}
		nodeHostClean(t, dirB, "soulbox-test-"+nameB, id)
	}

	// A corrupted blob is refused; the sandbox stays paused on node A.
	// Neither the client's mistake nor a conflict of its sandbox's: 503.
	blob := s3.BlobPath("soulbox", memRec.Digest)
	whole, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), whole...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := c.do("POST", "/sandboxes/"+mem.SandboxID+"/resume", map[string]any{"timeout": 600})
		if code == 503 && strings.Contains(string(body), nameB) {
			break
		}
		// Until node B's first heartbeat with its service address.
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("resume from a corrupted blob = %d %s, want 503 naming node B\nnode B:\n%s", code, body, b.stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	stillPaused(mem.SandboxID, nameA)
	withStore(t, cfg, func(st *sqlite.Store) {
		evs, err := st.ListEvents(ctx, mem.SandboxID)
		if err != nil || len(evs) == 0 {
			t.Fatalf("events: %v", err)
		}
		if last := evs[len(evs)-1]; last.Type != store.EventPaused || !strings.Contains(last.Message, "the move to node "+nameB+" failed") {
			t.Errorf("last event after a refused move: %s %q, want paused saying why", last.Type, last.Message)
		}
	})
	// A blob gone from the bucket: 503 too, not a 404 that would say
	// the sandbox is gone; still paused on node A.
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := c.do("POST", "/sandboxes/"+mem.SandboxID+"/resume", map[string]any{"timeout": 600}); code != 503 || !strings.Contains(string(body), nameB) {
		t.Errorf("resume from a blob gone from the bucket = %d %s, want 503 naming node B", code, body)
	}
	stillPaused(mem.SandboxID, nameA)
	if err := os.WriteFile(blob, whole, 0o644); err != nil {
		t.Fatal(err)
	}

	// A pause never uploaded: 503 saying so, still paused.
	withStore(t, cfg, func(st *sqlite.Store) {
		if err := st.DeleteCheckpointObject(ctx, files.SandboxID); err != nil {
			t.Fatal(err)
		}
	})
	code, body, _ := c.do("POST", "/sandboxes/"+files.SandboxID+"/resume", map[string]any{"timeout": 600})
	if code != 503 || !strings.Contains(string(body), "never reached object storage") {
		t.Errorf("resume of a pause never uploaded = %d %s, want 503 saying it never reached object storage", code, body)
	}
	stillPaused(files.SandboxID, nameA)
	withStore(t, cfg, func(st *sqlite.Store) {
		if err := st.SetCheckpointObject(ctx, filesRec); err != nil {
			t.Fatal(err)
		}
	})

	// With its memory, auto-resumed by a request through the proxy: on
	// node B, the counter on, the file kept.
	start := time.Now()
	if code, body := proxied(t, c, mem.SandboxID, "8000"); code != 200 || body != "3" {
		t.Errorf("counter through the proxy after the move: %d %q, want 200 \"3\"", code, body)
	}
	t.Logf("a request auto-resuming the sandbox paused with its memory on node B took %v", time.Since(start))
	if st := storedSandbox(t, cfg, mem.SandboxID); st.State != store.StateRunning || st.Node != nameB {
		t.Fatalf("moved sandbox is %s on %q, want running on %s", st.State, st.Node, nameB)
	}
	t.Logf("blobs: %d bytes paused with memory, %d with files only", memRec.Size, filesRec.Size)
	if info, err := dB.Info(ctx, mem.SandboxID); err != nil {
		t.Fatalf("node B does not hold the moved sandbox: %v", err)
	} else if info.Status != "running" {
		t.Errorf("moved sandbox on node B is %s", info.Status)
	}
	if code, body := proxied(t, c, mem.SandboxID, "8000"); code != 200 || body != "4" {
		t.Errorf("counter after the move: %d %q, want 200 \"4\"", code, body)
	}
	if o, code := sh(t, c, mem, "cat /home/user/kept.txt; pgrep -f http.server >/dev/null && echo counter-runs"); code != 0 ||
		!strings.Contains(o, "kept") || !strings.Contains(o, "counter-runs") {
		t.Errorf("in the moved sandbox: %d %q, want the file and the counter's process", code, o)
	}

	// Files only: booted again on node B, its files kept, its
	// processes gone.
	start = time.Now()
	c.want(201, "POST", "/sandboxes/"+files.SandboxID+"/connect", map[string]any{"timeout": 600}, nil)
	t.Logf("connect moving the sandbox paused with its files to node B took %v", time.Since(start))
	if st := storedSandbox(t, cfg, files.SandboxID); st.State != store.StateRunning || st.Node != nameB {
		t.Fatalf("moved sandbox is %s on %q, want running on %s", st.State, st.Node, nameB)
	}
	if o, code := sh(t, c, files, "cat /home/user/files.txt; pgrep -x sleep || echo no-sleep"); code != 0 ||
		!strings.Contains(o, "files-kept") || !strings.Contains(o, "no-sleep") {
		t.Errorf("in the sandbox moved with its files: %d %q, want its file and no process of before", code, o)
	}
	// Both blobs are removed once used.
	for _, rec := range []store.CheckpointObject{memRec, filesRec} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(s3.BlobPath("soulbox", rec.Digest)); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("blob %s is still in the bucket after its move", rec.Digest)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Killed on node B: nothing left of them there.
	for _, id := range []string{mem.SandboxID, files.SandboxID} {
		c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
		nodeHostClean(t, dirB, "soulbox-test-"+nameB, id)
	}
	if list, err := dB.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("node B holds %+v (%v) after the kills", list, err)
	}

	// Node A, started again after a silence past the heartbeat timeout
	// (a node back sooner is not settled), removes what it kept of them.
	time.Sleep(cfg.NodeHeartbeatTimeout + 2*time.Second)
	a = startNode(t, bin, append([]string{"--data-dir", dirA, "--listen", listenA, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-" + nameA, "--network-pool", poolA, "--network-uplink", "lo", "--network-dns", "127.0.0.1"}, s3Flags...)...)
	t.Cleanup(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-a.done:
			a.done <- err
		case <-time.After(15 * time.Second):
		}
	})
	waitNodeStatus(t, c, nameA, "ready", 60*time.Second)
	waitDial(t, dA, a)
	deadline = time.Now().Add(30 * time.Second)
	for {
		list, err := dA.List(ctx)
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, i := range list {
				t.Logf("destroy %s on A: %v", i.ID, dA.Destroy(ctx, i.ID))
			}
			t.Fatalf("node A still holds %+v (%v) after it came back\nnode A:\n%s", list, err, a.stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, id := range []string{mem.SandboxID, files.SandboxID} {
		nodeHostClean(t, dirA, "soulbox-test-"+nameA, id)
		if _, err := os.Stat(filepath.Join(dirA, "checkpoints", id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("node A kept the checkpoint of %s: %v", id, err)
		}
	}
}

// TestJoinedNodeMoveDrained: a sandbox paused with its files only on a
// node an admin then drains resumes on another node, and the drained
// node, which still answers, holds nothing of it any more; while its
// paused state is not in object storage the drained node resumes it
// itself rather than refusing.
func TestJoinedNodeMoveDrained(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes on two joined nodes")
	}
	const (
		nameA, poolA = "node-drain-a", "10.247.38.0/24"
		nameB, poolB = "node-drain-b", "10.247.39.0/24"
	)
	bin, _, nodeAddr, c, cfg, s3Flags := bucketControlPlane(t)
	listenA := freeAddr(t)
	a, dirA := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameA, listenA, poolA, s3Flags...)
	dA := controlPlaneDriver(t, cfg, nameA, listenA)
	waitDial(t, dA, a)
	var made []string
	sb := createOnNode(t, c, a, map[string]any{"timeout": 600}, &made)
	id := sb.SandboxID
	t.Cleanup(func() { c.do("DELETE", "/sandboxes/"+id, nil) })
	if o, code := sh(t, c, sb, "echo drained-kept > /home/user/kept.txt"); code != 0 {
		t.Fatalf("write a file: %s", o)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	waitPausedUploaded(t, cfg, id)

	listenB := freeAddr(t)
	b, dirB := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameB, listenB, poolB, s3Flags...)
	dB := controlPlaneDriver(t, cfg, nameB, listenB)
	waitDial(t, dB, b)
	c.want(204, "POST", "/nodes/"+nameA, map[string]any{"status": "draining"}, nil)
	ctx := context.Background()

	// Not in object storage: the drained node, which answers, resumes it.
	withStore(t, cfg, func(st *sqlite.Store) {
		if err := st.DeleteCheckpointObject(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if st := storedSandbox(t, cfg, id); st.State != store.StateRunning || st.Node != nameA {
		t.Fatalf("resumed without a record: %s on %q, want running on %s", st.State, st.Node, nameA)
	}

	// Paused again and uploaded: it moves to node B.
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	waitPausedUploaded(t, cfg, id)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := c.do("POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600})
		if code == 201 {
			break
		}
		// Until node B's first heartbeat with its service address.
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("resume off a drained node = %d %s\nnode B:\n%s", code, body, b.stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if st := storedSandbox(t, cfg, id); st.State != store.StateRunning || st.Node != nameB {
		t.Fatalf("moved off a drained node: %s on %q, want running on %s", st.State, st.Node, nameB)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || !strings.Contains(o, "drained-kept") {
		t.Errorf("the file in the moved sandbox: %d %q", code, o)
	}
	// The drained node answers: what it kept goes at once.
	deadline = time.Now().Add(15 * time.Second)
	for {
		list, err := dA.List(ctx)
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drained node still holds %+v (%v)", list, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	nodeHostClean(t, dirA, "soulbox-test-"+nameA, id)
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	nodeHostClean(t, dirB, "soulbox-test-"+nameB, id)
	if list, err := dB.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("node B holds %+v (%v) after the kill", list, err)
	}
}

// bucketControlPlane starts a control plane with object storage (a
// test S3 server) and a node listener, drains its embedded node so
// that creates go to joined nodes, and returns the `soulbox node` flags
// that give a node the same bucket.
func bucketControlPlane(t *testing.T) (bin string, s3 *s3test.Server, nodeAddr string, c apiClient, cfg server.Config, s3Flags []string) {
	t.Helper()
	bin = buildServer(t, "")
	s3 = s3test.Start(t, "soulbox")
	nodeAddr = freeAddr(t)
	c, cfg = runServer(t, func(cfg *server.Config) {
		cfg.NodeListen = nodeAddr
		cfg.NodeHeartbeatTimeout = 3 * time.Second
		cfg.Objects = server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	})
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3Flags = []string{"--s3-endpoint", s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret}
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
	}
	return bin, s3, nodeAddr, c, cfg, s3Flags
}
