package server_test

import (
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
)

// TestFilesystemPauseKeepsEnvVars: a sandbox paused with its filesystem
// only boots a fresh agent on resume, and that agent has the create's
// environment variables again, also after a server restart in between.
func TestFilesystemPauseKeepsEnvVars(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600, "envVars": map[string]string{"SOULBOX_KEPT": "kept value=1"}})
	id := sb.SandboxID
	if o, _ := sh(t, c, sb, `echo "$SOULBOX_KEPT"`); strings.TrimSpace(o) != "kept value=1" {
		t.Fatalf("envVars after create: %q", o)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{"memory": false}, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	t.Cleanup(func() { _ = stop() })
	c.base = "http://" + addr
	c.want(201, "POST", "/sandboxes/"+id+"/connect", map[string]any{"timeout": 600}, nil)
	if o, _ := sh(t, c, sb, `echo "$SOULBOX_KEPT"`); strings.TrimSpace(o) != "kept value=1" {
		t.Errorf("envVars after a filesystem-only pause and resume: %q, want the create's", o)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
