package postgres

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// Every test closes what it opens; a pool left open shows up here as a
// leaked goroutine.
func TestMain(m *testing.M) {
	// pgtest keeps one goroutine on a lasting thread to start servers.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/soulbox/soulbox/internal/store/postgres/pgtest.SpawnLoop"))
}

func openURL(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The conformance suite runs in storetest's TestStore/postgres; these are
// what it cannot see: schema versions, migration races and bad URLs.
func TestPostgres(t *testing.T) {
	c := pgtest.Start(t)
	ctx := context.Background()

	t.Run("MigrationsMirrorSQLite", func(t *testing.T) {
		// Version N must be the same schema on both backends: the same
		// files, by number and name.
		sqliteDir, err := os.ReadDir("../sqlite/migrations")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range sqliteDir {
			want = append(want, e.Name())
		}
		migs, err := loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range migs {
			got = append(got, m.name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("migrations differ from SQLite's (-sqlite +postgres):\n%s", diff)
		}
	})

	t.Run("EmptyDatabaseMigrated", func(t *testing.T) {
		s := openURL(t, c.NewDatabase(t))
		migs, _ := loadMigrations()
		var versions []int
		rows, err := s.pool.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			versions = append(versions, v)
		}
		rows.Close()
		if len(versions) != len(migs) || versions[len(versions)-1] != migs[len(migs)-1].version {
			t.Errorf("applied versions %v, want 1..%d", versions, len(migs))
		}
	})

	t.Run("NewerSchemaRefused", func(t *testing.T) {
		url := c.NewDatabase(t)
		s := openURL(t, url)
		migs, _ := loadMigrations()
		newer := migs[len(migs)-1].version + 1
		// What a newer binary would leave behind.
		if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, newer); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `CREATE TABLE from_the_future (x INTEGER)`); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2, err := Open(ctx, url)
		if err == nil {
			s2.Close()
			t.Fatal("open of a database with a newer schema succeeded")
		}
		if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "newer than this binary supports") {
			t.Errorf("open: %v, want failed precondition saying the schema is newer", err)
		}
		t.Logf("refused with: %v", err)
	})

	t.Run("ConcurrentOpenMigratesOnce", func(t *testing.T) {
		// Replicas of a control plane started together on a new database.
		url := c.NewDatabase(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				s, err := Open(ctx, url)
				if err == nil {
					s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Errorf("open: %v", err)
			}
		}
		s := openURL(t, url)
		var n, distinct int
		if err := s.pool.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if migs, _ := loadMigrations(); n != len(migs) || distinct != n {
			t.Errorf("schema_migrations has %d rows, %d distinct; want %d", n, distinct, len(migs))
		}
	})

	t.Run("BadURL", func(t *testing.T) {
		_, err := Open(ctx, "postgres://soulbox:hunter2@host:notaport/db")
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("open: %v, want invalid argument", err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		// A socket directory with no server in it: nothing leaves the host.
		_, err := Open(ctx, "postgres://soulbox:hunter2@/db?host="+t.TempDir()+"&connect_timeout=2")
		if !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("open: %v, want unavailable", err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://soulbox:hunter2@db/soulbox?sslmode=verify-full":      "postgres://soulbox:xxxxx@db/soulbox?sslmode=verify-full",
		"postgres://soulbox@db/soulbox?password=hunter2&sslmode=require": "postgres://soulbox@db/soulbox?password=xxxxx&sslmode=require",
		"postgres:///soulbox?host=/run/postgresql&sslpassword=hunter2":   "postgres:///soulbox?host=%2Frun%2Fpostgresql&sslpassword=xxxxx",
		"postgres://db/soulbox?PASSWORD=hunter2":                         "postgres://db/soulbox?PASSWORD=xxxxx",
		"postgres://db/soulbox":                                          "postgres://db/soulbox",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"host=db password=hunter2", "hunter2", "postgres:u:hunter2@db", "postgres://db/x?password=hunter2&%zz"} {
		if got := Redact(in); strings.Contains(got, "hunter2") {
			t.Errorf("Redact(%q) = %q shows the password", in, got)
		}
	}
}
