package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestAuditVerify: `soulbox audit verify` passes on the log as written
// and fails, naming the entry, once a row is edited in SQLite directly.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range []string{"a", "b", "a"} {
		if _, err := st.AppendAudit(ctx, store.AuditEntry{Team: team, Action: "POST /sandboxes", Target: "/sandboxes", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, err := runCLI(t, "audit", "--data-dir", dir, "verify")
	if err != nil || !strings.HasPrefix(out, "ok: 3 entries") {
		t.Fatalf("verify: %q, %v", out, err)
	}
	out, err = runCLI(t, "audit", "--data-dir", dir, "list", "--team", "a", "--since", "1h", "--json")
	var list []store.AuditEntry
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[1].ID != 3 {
		t.Errorf("list --team a: %q, %v", out, err)
	}
	out, err = runCLI(t, "audit", "--data-dir", dir, "export")
	if err != nil || strings.Count(out, "\n") != 3 {
		t.Errorf("export: %q, %v", out, err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dir, "list", "--since", "last week"); err == nil {
		t.Error("a bad --since was taken")
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit SET status = 200 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "audit", "--data-dir", dir, "verify")
	if err == nil || !strings.Contains(err.Error(), "entry 2 was changed") {
		t.Errorf("verify after an edit: %v, want a failure naming entry 2", err)
	}
	// A deleted row is found too, by the entry after it.
	if _, err := db.Exec(`UPDATE audit SET status = 201 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dir, "verify"); err != nil {
		t.Fatalf("verify after undoing the edit: %v", err)
	}
	if _, err := db.Exec(`DELETE FROM audit WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "audit", "--data-dir", dir, "verify")
	if err == nil || !strings.Contains(err.Error(), "entry 3 does not follow") {
		t.Errorf("verify after a delete: %v, want a failure naming entry 3", err)
	}
}
