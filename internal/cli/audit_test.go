package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/audit"
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
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range []string{"a", "b", "a"} {
		if _, err := st.AppendAudit(ctx, key, store.AuditEntry{Team: team, Action: "POST /sandboxes", Target: "/sandboxes", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, err := runCLI(t, "audit", "--data-dir", dir, "verify")
	if err != nil || !strings.HasPrefix(out, "ok: 3 entries, head 3:") {
		t.Fatalf("verify: %q, %v", out, err)
	}
	var head struct {
		HeadID int64
		Head   string
	}
	out, err = runCLI(t, "audit", "--data-dir", dir, "verify", "--json")
	if err != nil || json.Unmarshal([]byte(out), &head) != nil || head.HeadID != 3 || len(head.Head) != 64 {
		t.Fatalf("verify --json: %q, %v", out, err)
	}
	recorded := fmt.Sprintf("%d:%s", head.HeadID, head.Head)
	if _, err := runCLI(t, "audit", "--data-dir", dir, "verify", "--expect-head", recorded); err != nil {
		t.Fatalf("verify --expect-head of the head itself: %v", err)
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
	if err == nil || !strings.Contains(err.Error(), "entry 3 follows entry 1") {
		t.Errorf("verify after a delete: %v, want a failure naming entry 3", err)
	}

	// Cutting the last entry leaves a whole chain: only the head recorded
	// before finds it.
	if _, err := db.Exec(`DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := st.AppendAudit(ctx, key, store.AuditEntry{Action: "POST /sandboxes", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out, _ = runCLI(t, "audit", "--data-dir", dir, "verify", "--json")
	_ = json.Unmarshal([]byte(out), &head)
	recorded = fmt.Sprintf("%d:%s", head.HeadID, head.Head)
	if _, err := db.Exec(`DELETE FROM audit WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dir, "verify"); err != nil {
		t.Errorf("verify without a recorded head after cutting the end: %v (undetectable, as documented)", err)
	}
	_, err = runCLI(t, "audit", "--data-dir", dir, "verify", "--expect-head", recorded)
	if err == nil || !strings.Contains(err.Error(), "removed from its end") {
		t.Errorf("verify --expect-head after cutting the end: %v, want a failure", err)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dir, "verify", "--expect-head", "2:"+strings.Repeat("0", 64)); err == nil {
		t.Error("verify --expect-head of a head never written passed")
	}

	// A key others can read is refused.
	if err := os.Chmod(filepath.Join(dir, audit.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "audit", "--data-dir", dir, "verify")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("verify with a world-readable key: %v, want a refusal", err)
	}
}
