package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// DeleteNode implements store.Nodes.
func (s *Store) DeleteNode(ctx context.Context, id string, check func(store.Node) error) error {
	if err := store.ValidateText("node id", id); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := sqlrow.ScanNode(tx.QueryRowContext(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeDeletable(n, check); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM nodes WHERE id = ?`, id)
		return err
	})
}
