package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestE2BSDKAcrossNodes drives the official SDK through one server with
// two `soulbox node` children that run sandboxes (own data dirs, cgroup
// parents and address ranges on this host): creates spread over the
// three nodes, commands and files work on every sandbox through the one
// API URL, a sandbox on a joined node pauses and resumes with its memory,
// a drained node gets no new sandbox, and kill ends them where they run.
func TestE2BSDKAcrossNodes(t *testing.T) {
	requireNode(t)
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMin, cfg.PoolMax = 0, 0 // a warm pool would draw every create to the embedded node
	cfg.NodeListen = freeLocalAddr(t)
	cfg.NodeHeartbeatTimeout = 3 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
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

	ca, err := nodeca.Open(filepath.Join(cfg.DataDir, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	drivers := map[string]*remotedriver.Driver{}
	for i, name := range []string{"node-c1", "node-c2"} {
		var tok struct{ Token string }
		if code := api("POST", "/admin/node-tokens", map[string]any{"ttl": 600}, &tok); code != 201 {
			t.Fatalf("node token: %d", code)
		}
		listen := freeLocalAddr(t)
		cmd := exec.Command(bin, "node", "--control-plane", "https://"+cfg.NodeListen, "--join-token", tok.Token,
			"--data-dir", ocitest.Root(t), "--name", name, "--listen", listen,
			"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-compat-"+name,
			"--network-pool", fmt.Sprintf("10.246.%d.0/24", 10+i), "--network-uplink", "lo", "--network-dns", "127.0.0.1")
		stderr := &bytes.Buffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			// SIGTERM: the node closes its network manager, which removes
			// what it put on the host once its sandboxes are gone.
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
		}()
		if drivers[name], err = remotedriver.New(remotedriver.Config{Node: name, Addr: listen, ClientCert: cert, CA: ca.Pool()}); err != nil {
			t.Fatal(err)
		}
	}
	// Each node is ready once it serves and its heartbeat has told the
	// control plane where (one heartbeat a second).
	for name, d := range drivers {
		waitNodeJoined(t, "", cfg.DataDir, false, name, d)
	}
	on := func() map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for name, d := range drivers {
			list, err := d.List(ctx)
			if err != nil {
				t.Fatalf("list %s: %v", name, err)
			}
			for _, i := range list {
				out[name] = append(out[name], i.ID)
			}
		}
		return out
	}
	env := []string{"E2B_API_URL=" + url, "E2B_SANDBOX_URL=" + url, "E2B_API_KEY=" + strings.TrimSpace(string(admin)), "E2B_DOMAIN=localhost"}

	// Six creates spread over the three nodes (the team's count per node
	// ranks them); each works through the one URL.
	first := sdkRun(t, env, "create", "6")
	placed := on()
	t.Logf("placed on joined nodes: %v; all: %v", placed, first)
	if len(placed["node-c1"]) == 0 || len(placed["node-c2"]) == 0 || len(placed["node-c1"])+len(placed["node-c2"]) == len(first) {
		t.Errorf("six creates placed %v on the joined nodes, want some on each and some on the embedded node; all %v", placed, first)
	}

	// A sandbox on a joined node pauses with its memory and resumes on
	// its node through the SDK.
	if len(placed["node-c2"]) > 0 {
		sdkRun(t, env, "pause", placed["node-c2"][0])
	}

	// A drained node gets no new sandbox.
	if code := api("POST", "/nodes/node-c1", map[string]any{"status": "draining"}, nil); code != 204 {
		t.Fatalf("drain node-c1: %d", code)
	}
	second := sdkRun(t, env, "create", "3")
	if now := on(); len(now["node-c1"]) != len(placed["node-c1"]) {
		t.Errorf("drained node-c1 went from %v to %v", placed["node-c1"], now["node-c1"])
	}

	// Kill ends every sandbox where it runs.
	var ids []string
	ids = append(append(ids, first...), second...)
	sdkRun(t, env, "kill", strings.Join(ids, ","))
	if now := on(); len(now["node-c1"])+len(now["node-c2"]) != 0 {
		t.Errorf("after kill the nodes still run %v", now)
	}
}

// sdkRun runs nodes.mjs and returns the ids it printed (create).
func sdkRun(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("node", append([]string{"nodes.mjs"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node nodes.mjs %v: %v\n%s", args, err, out.String())
	}
	var ids []string
	if args[0] == "create" {
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ids); err != nil {
			t.Fatalf("nodes.mjs printed %q: %v", out.String(), err)
		}
	}
	return ids
}

func freeLocalAddr(t *testing.T) string {
	t.Helper()
	return testutil.FreeAddr(t)
}
