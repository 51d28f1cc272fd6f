package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// DeleteNode implements store.Nodes.
func (s *Store) DeleteNode(ctx context.Context, id string, check func(store.Node) error) error {
	if err := store.ValidateText("node id", id); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		n, err := sqlrow.ScanNode(tx.QueryRow(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeDeletable(n, check); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, id)
		return err
	})
}
