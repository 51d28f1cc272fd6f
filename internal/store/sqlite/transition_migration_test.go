package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// TestTransitionStatesMigration upgrades a store made before the states
// pausing and resuming: the table is rebuilt with its rows, and the
// sandboxes' events, metadata and metrics (which refer to them with ON
// DELETE CASCADE) all survive; foreign keys are on again afterwards, and
// the new states can be recorded.
func TestTransitionStatesMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	migs, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []migration
	for _, m := range migs {
		if strings.HasSuffix(m.name, "_transition_states.sql") {
			if !m.noForeignKeys {
				t.Fatalf("%s does not run with foreign keys off", m.name)
			}
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
	for _, q := range []string{
		`INSERT INTO sandboxes (id, template_id, state, created_at, started_at, network, lifecycle, env_vars)
			VALUES ('sb1', 'base', 'paused', ?, ?, '{"allowInternetAccess":true,"allowPublicTraffic":true}', '{"autoPause":true}', '{"A":"1"}')`,
		`INSERT INTO sandbox_metadata (sandbox_id, name, value) VALUES ('sb1', 'k', 'v')`,
		`INSERT INTO events (sandbox_id, time, type, message) VALUES ('sb1', ?, 'paused', 'kept')`,
	} {
		if _, err := db.ExecContext(ctx, q, created, created); err != nil {
			t.Fatal(err)
		}
	}
	indexesBefore := sandboxIndexes(t, db)
	db.Close()

	s := openAt(t, path)
	defer s.Close()
	sb, err := s.GetSandbox(ctx, "sb1")
	if err != nil {
		t.Fatal(err)
	}
	if sb.State != store.StatePaused || sb.Metadata["k"] != "v" || !sb.Lifecycle.AutoPause || sb.EnvVars["A"] != "1" ||
		sb.Network == nil || !sb.Network.AllowInternetAccess {
		t.Errorf("sandbox after the upgrade: %+v", sb)
	}
	evs, err := s.ListEvents(ctx, "sb1")
	if err != nil || len(evs) != 1 || evs[0].Message != "kept" {
		t.Errorf("events after the upgrade: %+v, %v", evs, err)
	}
	if err := s.SetState(ctx, "sb1", []store.SandboxState{store.StatePaused}, store.StateResuming,
		store.Event{Type: store.EventResuming}); err != nil {
		t.Errorf("record resuming after the upgrade: %v", err)
	}
	// The rebuilt table has every index the old one had (later
	// migrations may add more).
	after := sandboxIndexes(t, s.w)
	for _, ix := range strings.Split(indexesBefore, ",") {
		if !slices.Contains(strings.Split(after, ","), ix) {
			t.Errorf("indexes of sandboxes after the upgrade: %s; before it: %s", after, indexesBefore)
		}
	}
	// Foreign keys are back on in the pool: an event of no sandbox is refused.
	for range 4 {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO events (sandbox_id, time, type) VALUES ('nobody', 1, 'x')`); err == nil {
			t.Fatal("an event of an unknown sandbox was stored: foreign keys are off")
		}
	}
}

// sandboxIndexes lists the named indexes of the sandboxes table.
func sandboxIndexes(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sandboxes' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}
