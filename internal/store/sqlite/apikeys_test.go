package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestAPIKeysUpgrade opens a database that a binary with schema version 2
// (keys without last use) left behind: its keys survive the upgrade,
// never used, and can be touched.
func TestAPIKeysUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	if err := createMigrationsTable(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs[:2] {
		if err := apply(ctx, db, m, 2, time.Now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, hash, team, admin, created_at)
		VALUES ('k1', 'admin', 'e2b_aaaaaa', 'h1', 'default', 1, 1000000)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path)
	defer s.Close()
	k, err := s.APIKeyByHash(ctx, "h1")
	if err != nil || k.ID != "k1" || !k.Admin || k.LastUsedAt != nil || !k.CreatedAt.Equal(time.Unix(1, 0)) {
		t.Fatalf("key after upgrade: %+v, %v", k, err)
	}
	used := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.TouchAPIKey(ctx, "k1", used); err != nil {
		t.Fatal(err)
	}
	if k, err := s.APIKeyByHash(ctx, "h1"); err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(used) {
		t.Errorf("last used after touch: %+v, %v", k, err)
	}
}
