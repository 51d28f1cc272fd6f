package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Migrations are numbered NNNN_name.sql, applied in order, each in its own
// transaction together with its row in schema_migrations, so a crash leaves
// the schema at some whole version. They are never edited once released:
// a change is a new file. A migration whose first line is
// "-- foreign_keys: off" (a table rebuild) runs on a connection with
// foreign keys off, and commits only if every reference still holds.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
	// noForeignKeys: run with foreign keys off (see above).
	noForeignKeys bool
}

// noForeignKeysMark is the first line of a migration that needs foreign
// keys off.
const noForeignKeysMark = "-- foreign_keys: off\n"

// loadMigrations reads the embedded migrations and checks they number
// 1, 2, 3... without gaps, so that "version N" means the same schema
// for every binary.
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
		out = append(out, migration{version: v, name: e.Name(), sql: string(b),
			noForeignKeys: strings.HasPrefix(string(b), noForeignKeysMark)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no embedded migrations")
	}
	return out, nil
}

// migrate brings the schema of the database behind db (the writer pool) up
// to the newest embedded migration. A database whose schema is newer than
// this binary knows is refused before anything is changed: an old binary
// cannot tell what a newer schema's rows mean.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time) error {
	migs, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := migs[len(migs)-1].version
	if err := createMigrationsTable(ctx, db); err != nil {
		return err
	}
	cur, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if cur > latest {
		return tooNew(cur, latest)
	}
	for _, m := range migs[cur:] {
		if err := apply(ctx, db, m, latest, now); err != nil {
			return err
		}
	}
	return nil
}

// createMigrationsTable creates schema_migrations if it is not there. In a
// transaction, although it is one statement: the writer's transactions begin
// IMMEDIATE and so wait for another process's write lock, where a bare
// statement could fail at once upgrading its read lock.
func createMigrationsTable(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema_migrations: begin: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema_migrations: commit: %w", err)
	}
	return nil
}

// apply runs one migration unless another process got there first. The
// writer's transactions begin IMMEDIATE, so two processes opening the same
// new database take turns here instead of both applying the migration.
func apply(ctx context.Context, db *sql.DB, m migration, latest int, now func() time.Time) (err error) {
	var begin func(context.Context, *sql.TxOptions) (*sql.Tx, error) = db.BeginTx
	if m.noForeignKeys {
		// The pragma is a no-op inside a transaction, so it is set on a
		// connection of its own before the transaction begins, and set
		// back before the connection returns to the pool; a connection
		// that cannot be set back is closed instead.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migration %s: connection: %w", m.name, err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			conn.Close()
			return fmt.Errorf("migration %s: foreign keys off: %w", m.name, err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); rerr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("migration %s: foreign keys back on: %w", m.name, rerr)
				}
			}
			conn.Close()
		}()
		begin = conn.BeginTx
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback() // a no-op once committed
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if cur > latest {
		return tooNew(cur, latest)
	}
	if cur >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if m.noForeignKeys {
		if err := checkForeignKeys(ctx, tx); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.version, now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: record version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return nil
}

// checkForeignKeys fails if a row refers to one that is not there, which
// a migration run with foreign keys off could have left.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("check foreign keys: %w", err)
		}
		return fmt.Errorf("a row of %s (rowid %d) refers to a missing row of %s: %w", table, rowid.Int64, parent, errdefs.ErrFailedPrecondition)
	}
	return rows.Err()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion is the newest applied migration, 0 for none.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func tooNew(cur, latest int) error {
	return fmt.Errorf("database schema version %d is newer than this binary supports (%d); upgrade soulbox: %w",
		cur, latest, errdefs.ErrFailedPrecondition)
}
