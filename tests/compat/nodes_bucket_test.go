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

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/nodeagent"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// bucketCluster is a server whose embedded node is drained, with a node
// listener and a versitygw bucket, which `soulbox node` children join
// with the same bucket (node).
type bucketCluster struct {
	t      *testing.T
	ctx    context.Context
	cfg    server.Config
	url    string
	admin  string
	bin    string
	s3     *s3test.Server
	secret string
	ca     *nodeca.CA
}

// startBucketCluster starts the server (stopped at the test's end,
// after the nodes) and drains its embedded node.
func startBucketCluster(t *testing.T) *bucketCluster {
	t.Helper()
	c := &bucketCluster{t: t, bin: filepath.Join(t.TempDir(), "soulbox")}
	if out, err := exec.Command("go", "build", "-o", c.bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	c.s3 = s3test.Start(t, "soulbox")
	c.secret = filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(c.secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
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
	cfg.Objects = server.ObjectsConfig{Endpoint: c.s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	c.cfg = cfg
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx = ctx
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	admin, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	c.admin, c.url = strings.TrimSpace(string(admin)), "http://"+srv.Addr()
	var nodes []struct {
		ID string `json:"id"`
	}
	if code := c.api("GET", "/nodes", nil, &nodes); code != 200 || len(nodes) != 1 {
		t.Fatalf("nodes: %d %+v", code, nodes)
	}
	if code := c.api("POST", "/nodes/"+nodes[0].ID, map[string]any{"status": "draining"}, nil); code != 204 {
		t.Fatalf("drain the embedded node: %d", code)
	}
	if c.ca, err = nodeca.Open(filepath.Join(cfg.DataDir, "node-ca")); err != nil {
		t.Fatal(err)
	}
	return c
}

// api calls the server's REST API with the admin key.
func (c *bucketCluster) api(method, path string, body, out any) int {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(b))
	req.Header.Set("X-API-Key", c.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// env is the official SDK's environment for the server.
func (c *bucketCluster) env() []string {
	return []string{"E2B_API_URL=" + c.url, "E2B_SANDBOX_URL=" + c.url, "E2B_API_KEY=" + c.admin, "E2B_DOMAIN=localhost"}
}

// node starts a node with the bucket (joining it when join, else
// started again on dir) and waits until it serves and the control plane
// knows where.
func (c *bucketCluster) node(name, pool, dir, listen string, join bool) (*exec.Cmd, *remotedriver.Driver) {
	t := c.t
	t.Helper()
	args := []string{"node", "--data-dir", dir, "--listen", listen,
		"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-compat-" + name,
		"--network-pool", pool, "--network-uplink", "lo", "--network-dns", "127.0.0.1",
		"--s3-endpoint", c.s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", c.secret}
	if join {
		var tok struct{ Token string }
		if code := c.api("POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok); code != 201 {
			t.Fatalf("node token: %d", code)
		}
		args = append(args, "--control-plane", "https://"+c.cfg.NodeListen, "--join-token", tok.Token, "--name", name)
	}
	cmd := exec.Command(c.bin, args...)
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
		// A node the test killed never closed its network manager: its
		// network (the shared table, the namespace directory's mount)
		// waits for a next start that never comes.
		tag, err := nodeagent.NetworkTag(dir)
		if err == nil {
			err = network.Uninstall(tag)
		}
		if err != nil {
			t.Errorf("remove node %s's network: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s:\n%s", name, stderr)
		}
	})
	cert, err := c.ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	d, err := remotedriver.New(remotedriver.Config{Node: name, Addr: listen, ClientCert: cert, CA: c.ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	waitNodeJoined(t, "", c.cfg.DataDir, false, name, d)
	return cmd, d
}
