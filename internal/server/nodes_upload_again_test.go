package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestJoinedNodeUploadStartedAgain: a joined node's sandbox is paused
// while the node's object storage hangs; the control plane's shutdown
// cuts the upload short and records nothing. Started again (the object
// storage answering again), the control plane has the node upload it:
// the pause is recorded, and with that node drained the sandbox resumes
// on another node with its file.
func TestJoinedNodeUploadStartedAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes on joined nodes")
	}
	const (
		nameA, poolA = "node-again-a", "10.247.61.0/24"
		nameB, poolB = "node-again-b", "10.247.62.0/24"
	)
	bin := buildServer(t, "")
	s3 := s3test.Start(t, "soulbox")
	hanger := s3test.StartHanger(t, s3)
	nodeAddr := freeAddr(t)
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.NodeListen = nodeAddr
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	cfg.Objects = server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	addr, stop := serveInProcess(t, cfg)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = stop()
		}
	})
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := func(endpoint string) []string {
		return []string{"--s3-endpoint", endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret}
	}
	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	for _, nd := range nodes {
		c.want(204, "POST", "/nodes/"+nd.ID, map[string]any{"status": "draining"}, nil)
	}

	// Node A reaches the object storage through the hanger.
	listenA := freeAddr(t)
	a, dirA := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameA, listenA, poolA, flags(hanger.Endpoint)...)
	waitDial(t, controlPlaneDriver(t, cfg, nameA, listenA), a)
	var made []string
	sb := createOnNode(t, c, a, map[string]any{"timeout": 600}, &made)
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
	})
	if o, code := sh(t, c, sb, "echo kept-across-the-restart > /home/user/kept.txt"); code != 0 {
		t.Fatalf("write a file: %s", o)
	}
	hanger.Hang()
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", map[string]any{"memory": false}, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	withStore(t, cfg, func(st *sqlite.Store) {
		if _, err := st.CheckpointObject(context.Background(), sb.SandboxID); !errdefs.IsNotFound(err) {
			t.Fatalf("record of an upload the shutdown cut short: %v, want none", err)
		}
	})

	// The object storage answers again; the control plane starts again
	// and has node A upload the pause.
	hanger.Pass()
	addr, stop = serveInProcess(t, cfg)
	stopped = false
	c.base = "http://" + addr
	waitPausedUploaded(t, cfg, sb.SandboxID)

	// Node A drained, the sandbox resumes on node B from the upload.
	listenB := freeAddr(t)
	b, _ := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameB, listenB, poolB, flags(s3.Endpoint)...)
	waitDial(t, controlPlaneDriver(t, cfg, nameB, listenB), b)
	c.want(204, "POST", "/nodes/"+nameA, map[string]any{"status": "draining"}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := c.do("POST", "/sandboxes/"+sb.SandboxID+"/resume", map[string]any{"timeout": 600})
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resume with node A gone = %d %s\nnode B:\n%s", code, body, b.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if st := storedSandbox(t, cfg, sb.SandboxID); st.State != store.StateRunning || st.Node != nameB {
		t.Fatalf("after the resume: %s on %q, want running on %s", st.State, st.Node, nameB)
	}
	if o, code := sh(t, c, sb, "cat /home/user/kept.txt"); code != 0 || o != "kept-across-the-restart\n" {
		t.Errorf("the file in the sandbox resumed on node B: %d %q", code, o)
	}
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	nodeHostClean(t, dirA, "soulbox-test-"+nameA, sb.SandboxID)
}
