package compat

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/certs"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BSDKOverHTTPS runs the SDK against a server with its own local
// certificate authority, trusted the way its log says: NODE_EXTRA_CA_CERTS.
// The domain is the default, localhost, whose sandbox hosts resolve to
// loopback through libnss-myhostname (scripts/setup.sh installs it).
func TestE2BSDKOverHTTPS(t *testing.T) {
	requireNode(t)
	if addrs, err := net.LookupHost("8080-sandbox.localhost"); err != nil || len(addrs) == 0 {
		t.Fatalf("sandbox hosts under localhost do not resolve (%v): run scripts/setup.sh, which enables myhostname in /etc/nsswitch.conf", err)
	}
	// Port 443 of loopback, where the SDK looks when told only the
	// domain, if nothing else holds it.
	https := "127.0.0.1:443"
	if ln, err := net.Listen("tcp", https); err != nil {
		https = "off"
	} else {
		_ = ln.Close()
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTPSListen = https
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMax, cfg.PoolMin = 0, 0
	cfg.TLS = certs.Config{Mode: certs.ModeSelfSigned}
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
	env := []string{"E2B_API_KEY=" + strings.TrimSpace(string(key)),
		"NODE_EXTRA_CA_CERTS=" + filepath.Join(cfg.DataDir, "tls", "ca.pem"), "SOULBOX_DOMAIN=" + cfg.Domain}

	t.Run("with API and sandbox URLs", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(srv.Addr())
		url := "https://localhost:" + port
		runNodeFile(t, "https.mjs", append(env, "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "SOULBOX_PORT="+port)...)
	})
	t.Run("with only the domain, on 443", func(t *testing.T) {
		if srv.HTTPSAddr() == "" {
			t.Skip("port 443 of loopback is taken")
		}
		runNodeFile(t, "https.mjs", append(env, "E2B_DOMAIN="+cfg.Domain)...)
	})
}

func runNodeFile(t *testing.T, file string, env ...string) {
	t.Helper()
	cmd := exec.Command("node", "--test", "--test-reporter=spec", file)
	// Only what the test sets: an E2B_* variable of the caller's shell
	// would change where the SDK goes.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "E2B_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK over HTTPS failed: %v", err)
	}
}
