package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestE2BSDKMovePaused drives the official SDK through a server with two
// `soulbox node` children sharing a versitygw bucket: a sandbox made on
// the first, running a counter, is paused with its memory through the
// SDK; the first node is killed (SIGKILL); Sandbox.connect resumes it on
// the second, its counter going on, its file kept, commands running.
func TestE2BSDKMovePaused(t *testing.T) {
	requireNode(t)
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	s3 := s3test.Start(t, "soulbox")
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMin, cfg.PoolMax = 0, 0
	cfg.NodeListen = freeLocalAddr(t)
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	cfg.Objects = server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	admin, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + srv.Addr()
	api := func(method, path string, body, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, url+path, bytes.NewReader(b))
		req.Header.Set("X-API-Key", strings.TrimSpace(string(admin)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var nodes []struct {
		ID string `json:"id"`
	}
	if code := api("GET", "/nodes", nil, &nodes); code != 200 || len(nodes) != 1 {
		t.Fatalf("nodes: %d %+v", code, nodes)
	}
	if code := api("POST", "/nodes/"+nodes[0].ID, map[string]any{"status": "draining"}, nil); code != 204 {
		t.Fatalf("drain the embedded node: %d", code)
	}
	ca, err := nodeca.Open(filepath.Join(cfg.DataDir, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	// startNode starts a node with the bucket (joining it when join,
	// else started again on dir) and waits until it serves and the
	// control plane knows where.
	startNode := func(name, pool, dir, listen string, join bool) (*exec.Cmd, *remotedriver.Driver) {
		args := []string{"node", "--data-dir", dir, "--listen", listen,
			"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-compat-" + name,
			"--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1",
			"--s3-endpoint", s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret}
		if join {
			var tok struct{ Token string }
			if code := api("POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok); code != 201 {
				t.Fatalf("node token: %d", code)
			}
			args = append(args, "--control-plane", "https://"+cfg.NodeListen, "--join-token", tok.Token, "--name", name)
		}
		cmd := exec.Command(bin, args...)
		stderr := &bytes.Buffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("%s:\n%s", name, stderr)
			}
		})
		d, err := remotedriver.New(remotedriver.Config{Node: name, Addr: listen, ClientCert: cert, CA: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := d.List(c)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s does not serve: %v\n%s", name, err, stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(2500 * time.Millisecond) // its heartbeat with its address
		return cmd, d
	}
	env := []string{"E2B_API_URL=" + url, "E2B_SANDBOX_URL=" + url, "E2B_API_KEY=" + strings.TrimSpace(string(admin)), "E2B_DOMAIN=localhost"}

	dirA, listenA := ocitest.Root(t), freeLocalAddr(t)
	a, dA := startNode("node-m1", "10.247.40.0/24", dirA, listenA, true)
	ids := sdkRun(t, env, "create", "1")
	id := ids[0]
	defer api("DELETE", "/sandboxes/"+id, nil, nil) // before the server stops
	sdkRun(t, env, "pauseonly", id)
	// The node uploads the paused state in the background.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.CheckpointObject(ctx, id)
		st.Close()
		if err == nil {
			break
		}
		if !errdefs.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("the pause was not uploaded: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = a.Process.Kill()
	_, b := startNode("node-m2", "10.247.41.0/24", ocitest.Root(t), freeLocalAddr(t), true)
	sdkRun(t, env, "moved", id)
	if info, err := b.Info(ctx, id); err != nil || info.Status != "running" {
		t.Errorf("node-m2 holds the moved sandbox as %+v, %v; want running", info, err)
	}
	sdkRun(t, env, "kill", id)
	if list, err := b.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("node-m2 holds %+v (%v) after the kill", list, err)
	}
	// node-m1, started again, removes what it kept.
	startNode("node-m1", "10.247.40.0/24", dirA, listenA, false)
	deadline = time.Now().Add(30 * time.Second)
	for {
		list, err := dA.List(ctx)
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, i := range list {
				_ = dA.Destroy(ctx, i.ID)
			}
			t.Fatalf("node-m1 still holds %+v (%v) once back", list, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
