package cli

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// TestHostChangesAudited: keys, teams and quotas changed on the host are
// in the audit log, under the team changed, and the chain verifies.
func TestHostChangesAudited(t *testing.T) {
	dir := serverDataDir(t)
	out, err := runCLI(t, "teams", "--data-dir", dir, "create", "ops", "--json")
	var tm struct{ TeamID string }
	if err != nil || json.Unmarshal([]byte(out), &tm) != nil {
		t.Fatalf("teams create: %q, %v", out, err)
	}
	out, _, err = runKeys(t, dir, "create", "ci", "--team", tm.TeamID, "--json")
	var k struct{ ID string }
	if err != nil || json.Unmarshal([]byte(out), &k) != nil {
		t.Fatalf("keys create: %q, %v", out, err)
	}
	for _, args := range [][]string{
		{"quotas", "--data-dir", dir, "set", tm.TeamID, "--sandboxes", "3"},
		{"teams", "--data-dir", dir, "rename", tm.TeamID, "ops 2"},
		{"keys", "--data-dir", dir, "revoke", k.ID},
		{"teams", "--data-dir", dir, "delete", tm.TeamID},
	} {
		if _, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	out, err = runCLI(t, "audit", "--data-dir", dir, "list", "--team", tm.TeamID, "--json")
	var list []store.AuditEntry
	if err != nil || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("audit list: %q, %v", out, err)
	}
	var actions []string
	for _, e := range list {
		actions = append(actions, e.Action)
		if !strings.HasPrefix(e.Remote, "host") {
			t.Errorf("entry %+v: remote %q, want host:USER", e, e.Remote)
		}
	}
	want := "CLI teams create,CLI keys create,CLI quotas set,CLI teams rename,CLI keys revoke,CLI teams delete"
	if strings.Join(actions, ",") != want {
		t.Errorf("entries %q, want %q", strings.Join(actions, ","), want)
	}
	if _, err := runCLI(t, "audit", "--data-dir", dir, "verify"); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// TestTeamsDeleteClearsPools: `teams delete` clears the deleted team's
// templates' pool bounds, so a server started later warms nothing for
// it.
func TestTeamsDeleteClearsPools(t *testing.T) {
	dir := serverDataDir(t)
	out, err := runCLI(t, "teams", "--data-dir", dir, "create", "pooled", "--json")
	var tm struct{ TeamID string }
	if err != nil || json.Unmarshal([]byte(out), &tm) != nil {
		t.Fatalf("teams create: %q, %v", out, err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO templates (id, team, cpu_count, memory_mb, created_at, updated_at, pool) VALUES ('tpl_p', ?, 1, 256, 0, 0, '{"min":1,"max":2}')`, tm.TeamID); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "teams", "--data-dir", dir, "delete", tm.TeamID); err != nil {
		t.Fatal(err)
	}
	var pool sql.NullString
	if err := db.QueryRow(`SELECT pool FROM templates WHERE id = 'tpl_p'`).Scan(&pool); err != nil || pool.Valid {
		t.Errorf("pool after the team's deletion: %v, %v; want none", pool, err)
	}
}
