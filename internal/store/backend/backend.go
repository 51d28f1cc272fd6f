// Package backend opens the store a server is configured with: SQLite in
// the data directory by default, or PostgreSQL given its URL. It is the one
// place that reads the --store setting.
package backend

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// SQLiteFile is the database file of the default backend in the data
// directory.
const SQLiteFile = "soulbox.db"

// Validate checks a --store value: empty (SQLite in the data directory)
// or a postgres:// URL.
func Validate(spec string) error {
	if spec == "" || postgres.IsURL(spec) {
		return nil
	}
	// The value may hold a password: it is shown redacted, or not at all.
	return fmt.Errorf("store %s: want a postgres:// URL, or nothing for SQLite in the data dir: %w", postgres.Redact(spec), errdefs.ErrInvalidArgument)
}

// Open opens the store spec names (see Validate), migrating an empty
// database; one with a newer schema than this binary is refused with
// ErrFailedPrecondition.
func Open(ctx context.Context, spec, dataDir string) (store.Store, error) {
	if err := Validate(spec); err != nil {
		return nil, err
	}
	if spec == "" {
		return sqlite.Open(ctx, filepath.Join(dataDir, SQLiteFile))
	}
	return postgres.Open(ctx, spec)
}

// Name is what logs call the store spec names: "sqlite" or "postgres".
func Name(spec string) string {
	if spec == "" {
		return "sqlite"
	}
	return "postgres"
}
