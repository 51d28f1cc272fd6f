package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// write runs fn in a transaction on the writer connection and commits it if
// fn returns nil. fn must not use the store's other methods: the writer has
// one connection, and fn holds it.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the transaction's error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func notFound(id string) error {
	return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}
