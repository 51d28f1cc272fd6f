package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// serverDataDir is a data dir a server has started on: it holds the
// audit key the server made.
func serverDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := audit.LoadKey(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHostAuditUsesKeysDir: on a server whose keys are in a keys dir of
// their own, the host commands hash their audit entries under the
// server's audit key there (--keys-dir, or SOULBOX_KEYS_DIR as the server
// reads it), so the chain verifies with it; they never make an audit key,
// and without one they refuse, changing nothing.
func TestHostAuditUsesKeysDir(t *testing.T) {
	dataDir, keysDir := t.TempDir(), t.TempDir()
	if _, err := audit.LoadKey(keysDir); err != nil { // made by the server's first start
		t.Fatal(err)
	}
	out, err := runCLI(t, "teams", "--data-dir", dataDir, "--keys-dir", keysDir, "create", "ops", "--json")
	var tm struct{ TeamID string }
	if err != nil || json.Unmarshal([]byte(out), &tm) != nil {
		t.Fatalf("teams create: %q, %v", out, err)
	}
	t.Setenv("SOULBOX_KEYS_DIR", keysDir)
	if _, _, err := runKeys(t, dataDir, "create", "ci", "--team", tm.TeamID); err != nil {
		t.Fatalf("keys create with SOULBOX_KEYS_DIR: %v", err)
	}
	if _, err := runCLI(t, "quotas", "--data-dir", dataDir, "set", tm.TeamID, "--sandboxes", "2"); err != nil {
		t.Fatalf("quotas set with SOULBOX_KEYS_DIR: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, audit.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the CLI made an audit key in the data dir: %v", err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dataDir, "verify"); err != nil {
		t.Errorf("verify with the server's key (SOULBOX_KEYS_DIR): %v", err)
	}
	t.Setenv("SOULBOX_KEYS_DIR", "")
	if _, err := runCLI(t, "audit", "--data-dir", dataDir, "--keys-dir", keysDir, "verify"); err != nil {
		t.Errorf("verify with --keys-dir: %v", err)
	}

	// Without the keys dir there is no audit key: refused before the
	// change, naming the file and the flag.
	_, err = runCLI(t, "teams", "--data-dir", dataDir, "create", "lost")
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), filepath.Join(dataDir, audit.KeyFile)) || !strings.Contains(err.Error(), "--keys-dir") {
		t.Errorf("teams create without the audit key: %v, want failed precondition naming the file and --keys-dir", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, audit.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the CLI made an audit key in the data dir: %v", err)
	}
	out, err = runCLI(t, "teams", "--data-dir", dataDir, "list", "--json")
	if err != nil || strings.Contains(out, "lost") {
		t.Errorf("teams after the refused create: %q, %v; want no team lost", out, err)
	}
}

// TestHostAuditOnPostgres: on replicas' PostgreSQL (--store) with their
// keys dir, a key made on the host is audited under the replicas' key
// and `audit verify` checks that chain, not a SQLite file's.
func TestHostAuditOnPostgres(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	dataDir, keysDir := t.TempDir(), t.TempDir()
	if _, err := audit.LoadKey(keysDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runKeys(t, dataDir, "--store", url, "--keys-dir", keysDir, "create", "ci", "--team", auth.DefaultTeam); err != nil {
		t.Fatalf("keys create on postgres: %v", err)
	}
	out, err := runCLI(t, "audit", "--data-dir", dataDir, "--store", url, "--keys-dir", keysDir, "list", "--json")
	if err != nil || !strings.Contains(out, "CLI keys create") {
		t.Fatalf("audit list on postgres: %q, %v; want the key's creation", out, err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dataDir, "--store", url, "--keys-dir", keysDir, "verify"); err != nil {
		t.Errorf("audit verify on postgres: %v", err)
	}
	other := t.TempDir()
	if _, err := audit.LoadKey(other); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dataDir, "--store", url, "--keys-dir", other, "verify"); err == nil {
		t.Error("audit verify under another key passed")
	}
}
