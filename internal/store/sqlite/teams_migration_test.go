package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// TestTeamsMigration upgrades a store made before teams: the built-in
// team appears, every team a key named becomes a team, the setup admin
// key owns the built-in team and other keys develop in theirs.
func TestTeamsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []migration
	for _, m := range migs {
		if strings.HasSuffix(m.name, "_teams.sql") {
			break
		}
		before = append(before, m)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := createMigrationsTable(ctx, db); err != nil {
		t.Fatal(err)
	}
	last := before[len(before)-1].version
	for _, m := range before {
		if err := apply(ctx, db, m, last, time.Now); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro()
	for _, k := range []struct {
		id, team string
		admin    bool
	}{{"key_admin", "default", true}, {"key_ci", "ci", false}, {"key_ci2", "ci", false}, {"key_other", "other", false}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, hash, team, admin, created_at) VALUES (?, ?, 'e2b_000000', ?, ?, ?, ?)`,
			k.id, k.id, "hash-"+k.id, k.team, k.admin, created); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openAt(t, path)
	defer s.Close()
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tm := range teams {
		got[tm.ID] = tm.Name
	}
	if len(got) != 3 || got["default"] != "admin" || got["ci"] != "ci" || got["other"] != "other" {
		t.Errorf("teams after the upgrade: %v", got)
	}
	for id, want := range map[string]store.Role{"key_admin": store.RoleOwner, "key_ci": store.RoleDeveloper, "key_other": store.RoleDeveloper} {
		k, err := s.APIKeyByHash(ctx, "hash-"+id)
		if err != nil || k.Role != want || k.Scopes != nil {
			t.Errorf("%s after the upgrade: %+v, %v; want role %s", id, k, err, want)
		}
	}
	if list, _ := s.ListAudit(ctx, store.AuditFilter{}); len(list) != 0 {
		t.Errorf("a new audit log has entries: %+v", list)
	}
}
