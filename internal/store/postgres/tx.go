package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// write runs fn in a transaction and commits it if fn returns nil. A row
// fn reads to decide on a change it locks with FOR UPDATE.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		// The transaction's error is the one to report; the rollback must
		// happen even when ctx is what ended it.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func notFound(id string) error {
	return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}
