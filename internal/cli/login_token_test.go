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
// key, and later commands work with it.
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
}
