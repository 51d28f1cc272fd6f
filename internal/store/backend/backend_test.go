package backend_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/backend"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// TestNewerSchemaRefused points a server's store at a database a newer
// binary has migrated, on each backend: it is refused with an error that
// says so, and an empty database is migrated.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	for _, b := range []struct {
		name string
		// spec returns a --store value and the data dir for a new empty
		// database, and a function that records a newer version in it.
		spec func(t *testing.T) (spec, dataDir string, bump func())
	}{
		{"sqlite", func(t *testing.T) (string, string, func()) {
			dir := t.TempDir()
			return "", dir, func() {
				db, err := sql.Open("sqlite", filepath.Join(dir, backend.SQLiteFile))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) SELECT MAX(version) + 1, 0 FROM schema_migrations`); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"postgres", func(t *testing.T) (string, string, func()) {
			url := pgtest.Start(t).NewDatabase(t)
			return url, t.TempDir(), func() {
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) SELECT MAX(version) + 1, 0 FROM schema_migrations`); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			spec, dir, bump := b.spec(t)
			s, err := backend.Open(ctx, spec, dir)
			if err != nil {
				t.Fatalf("open an empty database: %v", err)
			}
			if _, err := s.ListSandboxes(ctx, store.SandboxFilter{}); err != nil {
				t.Fatalf("migrated database: %v", err)
			}
			s.Close()
			bump()
			s, err = backend.Open(ctx, spec, dir)
			if err == nil {
				s.Close()
				t.Fatal("a database with a newer schema was opened")
			}
			if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "newer than this binary supports") {
				t.Fatalf("open: %v, want failed precondition saying the schema is newer", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, spec := range []string{"", "postgres://u@db/soulbox", "postgresql:///soulbox?host=/run/postgresql"} {
		if err := backend.Validate(spec); err != nil {
			t.Errorf("%q: %v", spec, err)
		}
	}
	for _, spec := range []string{"mysql://db/soulbox", "/var/lib/soulbox/soulbox.db", "postgres:/x"} {
		if err := backend.Validate(spec); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: %v, want invalid argument", spec, err)
		}
	}
}

// TestValidateHidesPasswords: a refused --store never shows a password,
// whether the value is a URL of another kind, a keyword/value string or a
// typo, so that it cannot reach logs or a terminal's scrollback.
func TestValidateHidesPasswords(t *testing.T) {
	for _, spec := range []string{
		"mysql://soulbox:hunter2@db/soulbox",
		"host=db user=soulbox password=hunter2 dbname=soulbox",
		"postgress://soulbox:hunter2@db/soulbox",
		"postgres:soulbox:hunter2@db",
		"mysql://db/soulbox?password=hunter2",
		"hunter2",
	} {
		err := backend.Validate(spec)
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%q: %v, want invalid argument", spec, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
