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
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BSDKWithTeamKeys drives the SDK with keys of two teams and of two
// roles, made through the admin API (teams.mjs says what it checks).
func TestE2BSDKWithTeamKeys(t *testing.T) {
	requireNode(t)
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
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
	post := func(path string, body, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(b))
		req.Header.Set("X-API-Key", strings.TrimSpace(string(admin)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	key := func(team, role string) string {
		var k struct{ Key string }
		post("/admin/teams/"+team+"/api-keys", map[string]any{"name": role, "role": role}, &k)
		return k.Key
	}
	var a, b struct{ TeamID string }
	post("/admin/teams", map[string]any{"name": "a"}, &a)
	post("/admin/teams", map[string]any{"name": "b"}, &b)

	cmd := exec.Command("node", "teams.mjs")
	cmd.Env = append(os.Environ(), "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_DOMAIN=localhost",
		"KEY_DEV_A="+key(a.TeamID, "developer"), "KEY_VIEWER_A="+key(a.TeamID, "viewer"), "KEY_DEV_B="+key(b.TeamID, "developer"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("teams.mjs: %v", err)
	}
}
