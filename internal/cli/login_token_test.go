package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthLoginToken: login --token-ttl keeps an access token, not the
// key, and later commands work with it; logout revokes it on the server.
func TestAuthLoginToken(t *testing.T) {
	e := newCLIEnv(t)
	home := t.TempDir()
	run := func(args ...string) (string, int) {
		cmd := exec.Command(e.bin, args...)
		cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH")}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), code
	}
	if out, code := run("auth", "login", "--server", e.url, "--api-key", e.key, "--token-ttl", "48h"); code == 0 || !strings.Contains(out, "ttlSeconds") {
		t.Errorf("a 48h token: %d %s", code, out)
	}
	if out, code := run("auth", "login", "--server", e.url, "--api-key", e.key, "--token-ttl", "1h"); code != 0 || !strings.Contains(out, "access token until") {
		t.Fatalf("login: %d %s", code, out)
	}
	b, err := os.ReadFile(filepath.Join(home, ".config", "soulbox", "login.json"))
	var saved struct {
		APIKey    string     `json:"apiKey"`
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	if err != nil || json.Unmarshal(b, &saved) != nil {
		t.Fatalf("saved login: %s, %v", b, err)
	}
	if strings.Contains(string(b), e.key) || !strings.HasPrefix(saved.APIKey, "eyJ") || saved.ExpiresAt == nil ||
		time.Until(*saved.ExpiresAt) > time.Hour || time.Until(*saved.ExpiresAt) < 55*time.Minute {
		t.Errorf("saved login %s: want a token expiring in an hour, not the key", b)
	}
	if out, code := run("sandbox", "list"); code != 0 {
		t.Errorf("list with the saved token: %d %s", code, out)
	}

	// Logging out revokes the token on the server, then forgets it.
	if out, code := run("auth", "logout"); code != 0 {
		t.Fatalf("logout: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "soulbox", "login.json")); !os.IsNotExist(err) {
		t.Errorf("saved login after logout: %v, want none", err)
	}
	if out, code := run("sandbox", "list", "--api-key", saved.APIKey, "--server", e.url); code == 0 || !strings.Contains(out, "revoked") {
		t.Errorf("the logged-out token: %d %s, want refused as revoked", code, out)
	}
	// A saved token the server already refuses is simply forgotten; a
	// server that cannot be reached keeps the login and says so.
	if err := os.WriteFile(filepath.Join(home, ".config", "soulbox", "login.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run("auth", "logout"); code != 0 {
		t.Errorf("logout with a revoked token: %d %s", code, out)
	}
	var l map[string]any
	_ = json.Unmarshal(b, &l)
	l["server"] = "http://127.0.0.1:1"
	down, _ := json.Marshal(l)
	if err := os.WriteFile(filepath.Join(home, ".config", "soulbox", "login.json"), down, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run("auth", "logout"); code == 0 || !strings.Contains(out, "was not revoked") {
		t.Errorf("logout with the server down: %d %s, want an error saying the token was not revoked", code, out)
	}
	if _, err := os.Stat(filepath.Join(home, ".config", "soulbox", "login.json")); err != nil {
		t.Errorf("saved login after a failed revoke: %v, want it kept", err)
	}
}
