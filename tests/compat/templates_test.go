package compat

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/builder/imagetest"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BTemplateBuildThroughServer builds templates with the SDK's
// Template builder against a server whose registry mirror is a registry
// in this process, serving an image made of the base template's files
// under a Docker Hub name, then creates sandboxes from them.
func TestE2BTemplateBuildThroughServer(t *testing.T) {
	requireNode(t)
	base, err := ocitest.Templates(t).Layers(context.Background(), "base")
	if err != nil {
		t.Fatal(err)
	}
	host := imagetest.Serve(t)
	imagetest.Push(t, host, "library/tiny:1", []string{"PATH=/usr/bin:/bin"}, imagetest.TinyLayer(t, base[0]))

	old := lifecycle.ReadyTimeout
	lifecycle.ReadyTimeout = 5 * time.Second // the never-ready case waits this long
	defer func() { lifecycle.ReadyTimeout = old }()

	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = filepath.Join(cfg.DataDir, "templates")
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMax = 0
	cfg.RegistryMirrors = "http://" + host
	// The default template comes from the shared cache: link its recipe's
	// directory rather than building it again.
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
	files, _ := filepath.Glob("templates/*.test.mjs")
	cmd := exec.Command("node", append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	cmd.Env = append(os.Environ(), "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_API_KEY="+strings.TrimSpace(string(key)),
		"E2B_DOMAIN=localhost", "TINY_IMAGE=tiny:1", "REGISTRY="+host, "LAYERS_DIR="+filepath.Join(cfg.TemplatesDir, "layers"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK template tests failed: %v", err)
	}
}
