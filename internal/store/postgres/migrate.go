package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Migrations are numbered NNNN_name.sql like the SQLite backend's, with the
// same numbers and names: version N is the same schema on both. Each is
// applied in its own transaction together with its row in
// schema_migrations (PostgreSQL's DDL is transactional), so a crash leaves
// the schema at some whole version. They are never edited once released.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationLock is the advisory lock key (the bytes of "sbxmigr") that
// replicas starting at once take turns on while they migrate.
const migrationLock int64 = 0x7362786d69677200

// loadMigrations reads the embedded migrations and checks they number
// 1, 2, 3... without gaps.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries { // ReadDir sorts by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		if v != len(out)+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", e.Name(), v, len(out)+1)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no embedded migrations")
	}
	return out, nil
}

// migrate brings the schema up to the newest embedded migration. A
// database whose schema is newer than this binary knows is refused before
// anything is changed: an old binary cannot tell what a newer schema's rows
// mean. Replicas starting together serialize on an advisory lock held for
// each migration's transaction, so each migration is applied once.
func migrate(ctx context.Context, pool *pgxpool.Pool, now func() time.Time) error {
	migs, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := migs[len(migs)-1].version
	// The first step only checks the version (and creates the table on an
	// empty database), so that a too-new schema is refused even when this
	// binary has nothing to apply.
	if err := step(ctx, pool, latest, nil, now); err != nil {
		return err
	}
	for _, m := range migs {
		if err := step(ctx, pool, latest, &m, now); err != nil {
			return err
		}
	}
	return nil
}

// step runs m (nil: none) in one transaction under the migration lock
// unless the schema is already at or past it.
func step(ctx context.Context, pool *pgxpool.Pool, latest int, m *migration, now func() time.Time) error {
	what := "schema version"
	if m != nil {
		what = "migration " + m.name
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("%s: lock: %w", what, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if cur > latest {
		return tooNew(cur, latest)
	}
	if m != nil && cur < m.version {
		if cur != m.version-1 {
			return fmt.Errorf("%s: schema is at version %d: %w", what, cur, errdefs.ErrFailedPrecondition)
		}
		// No arguments: pgx sends the file in the simple protocol, which
		// runs several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			m.version, now().UnixMicro()); err != nil {
			return fmt.Errorf("%s: record version: %w", what, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// schemaVersion is the newest applied migration, 0 for none.
func schemaVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	var v int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func tooNew(cur, latest int) error {
	return fmt.Errorf("database schema version %d is newer than this binary supports (%d); upgrade soulbox: %w",
		cur, latest, errdefs.ErrFailedPrecondition)
}
