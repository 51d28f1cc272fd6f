package compat

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BSnapshotsThroughServer runs snapshots/*.test.mjs against a server
// with a template directory of its own: deleting a snapshot collects the
// layers its server's store does not refer to, which in the shared cache
// would be other servers' too.
func TestE2BSnapshotsThroughServer(t *testing.T) {
	requireNode(t)
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = filepath.Join(cfg.DataDir, "templates")
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMax = 0
	if err := os.MkdirAll(cfg.TemplatesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ocitest.TemplateCache(), "base"), filepath.Join(cfg.TemplatesDir, "base")); err != nil {
		t.Fatal(err)
	}
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
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + srv.Addr()
	files, _ := filepath.Glob("snapshots/*.test.mjs")
	cmd := exec.Command("node", append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	cmd.Env = append(os.Environ(), "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_API_KEY="+strings.TrimSpace(string(key)), "E2B_DOMAIN=localhost")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK snapshot tests failed: %v", err)
	}
}
