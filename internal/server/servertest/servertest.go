// Package servertest runs a real SoulBox server in the test process, with
// real sandboxes, for the tests of the clients built on it (the Go SDK,
// the MCP server, the examples). It needs root and runc, as the server
// does.
package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/mountinfo"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// Server is a running server: its URL and admin key.
type Server struct {
	URL    string
	APIKey string
	// Domain is the domain of sandbox hosts.
	Domain string
	// DataDir is the server's data directory (its database is there).
	DataDir string

	cancel context.CancelFunc
	done   chan error
	root   string
	agent  string
}

// Usable says why servers cannot run here ("" when they can).
func Usable() string {
	if os.Geteuid() != 0 {
		return "requires root"
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return "requires runc on PATH"
	}
	return ""
}

// Run starts a server on a free loopback port with a fresh data dir and
// the shared template cache; Stop ends it. mod, if not nil, changes the
// configuration first. For TestMain, where there is no testing.TB.
func Run(mod func(*server.Config)) (*Server, error) {
	if why := Usable(); why != "" {
		return nil, errors.New(why)
	}
	dir, err := os.MkdirTemp("", "soulbox-agent-")
	if err != nil {
		return nil, err
	}
	agent := filepath.Join(dir, "soulbox-agent")
	build := exec.Command("go", "build", "-o", agent, "github.com/soulbox/soulbox/cmd/soulbox-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("build soulbox-agent: %v\n%s", err, out)
	}
	// Not a temp dir under /tmp's 0700 parents: a sandbox's root, an
	// unprivileged host uid, must traverse it.
	root, err := os.MkdirTemp("/var/lib", "soulbox-test-")
	if err == nil {
		err = os.Chmod(root, 0o711)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = root
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = agent
	cfg.PoolMin, cfg.PoolMax = 0, 0
	cfg.AdminKey, _, _ = auth.Generate()
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		os.RemoveAll(dir)
		os.RemoveAll(root)
		return nil, err
	}
	s := &Server{URL: "http://" + srv.Addr(), APIKey: cfg.AdminKey, Domain: cfg.Domain, DataDir: root, cancel: cancel, done: make(chan error, 1), root: root, agent: dir}
	go func() { s.done <- srv.Run(ctx) }()
	return s, nil
}

// Stop kills the server's sandboxes, ends the server and removes its
// data. (A server that stops on its own leaves its sandboxes running, to
// adopt them when it starts again.)
func (s *Server) Stop() error {
	kerr := s.KillAll()
	s.cancel()
	err := errors.Join(kerr, <-s.done)
	os.RemoveAll(s.agent)
	if mounts, merr := mountinfo.Under(s.root); merr != nil || len(mounts) > 0 {
		// Removing would descend into mounted filesystems.
		return errors.Join(err, merr, fmt.Errorf("mounts left under %s: %v", s.root, mounts))
	}
	os.RemoveAll(s.root)
	return err
}

// KillAll kills every sandbox of the server, running or paused.
func (s *Server) KillAll() error {
	var errs []error
	for range 20 { // pages
		req, _ := http.NewRequest("GET", s.URL+"/v2/sandboxes?limit=100", nil)
		req.Header.Set("X-API-Key", s.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var list []struct {
			SandboxID string `json:"sandboxID"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || len(list) == 0 {
			return errors.Join(append(errs, err)...)
		}
		for _, sb := range list {
			req, _ := http.NewRequest("DELETE", s.URL+"/sandboxes/"+sb.SandboxID, nil)
			req.Header.Set("X-API-Key", s.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
				errs = append(errs, fmt.Errorf("kill %s: HTTP %d", sb.SandboxID, resp.StatusCode))
			}
		}
	}
	return errors.Join(append(errs, errors.New("sandboxes still listed after 20 rounds of kills"))...)
}

// Start runs a server for one test, stopped when the test ends. It skips
// the test where servers cannot run.
func Start(t testing.TB, mod func(*server.Config)) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a server with real sandboxes")
	}
	if why := Usable(); why != "" {
		t.Skip(why)
	}
	s, err := Run(mod)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("server stop: %v", err)
		}
	})
	return s
}
