package compat

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/network/fakenet"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BSDKNetwork runs network.e2e.mjs through a server whose sandboxes
// reach a fake internet, never the real one.
func TestE2BSDKNetwork(t *testing.T) {
	requireNode(t)
	w := fakenet.New(t, "fwcp0", netip.MustParsePrefix("203.0.113.128/25"), []string{"outside.test", "other.test"})
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.NetworkUplink, cfg.NetworkDNS, cfg.NetworkPool = w.Uplink, w.DNS, "10.253.0.0/24"
	cfg.PoolMax, cfg.PoolMin = 0, 0
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
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + srv.Addr()
	cmd := exec.Command("node", "--test", "--test-reporter=spec", "--test-concurrency=1", "network.e2e.mjs")
	cmd.Env = append(os.Environ(), "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_API_KEY="+strings.TrimSpace(string(key)),
		"E2B_DOMAIN=localhost", "WORLD_IP="+w.Servers[0].String(), "WORLD_NAME=outside.test", "OTHER_IP="+w.Servers[1].String())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK network tests failed: %v", err)
	}
}
