package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// MarkNodeSilent implements store.Nodes.
func (s *Store) MarkNodeSilent(ctx context.Context, id string, from []store.NodeStatus, silentSince time.Time, reason string, at time.Time) error {
	if err := store.ValidateNodeStatusChange(id, from, store.NodeUnhealthy); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := sqlrow.ScanNode(tx.QueryRowContext(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeSilent(n, from, silentSince); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE nodes SET status = ?, status_reason = ?, status_by = ?, status_at = ? WHERE id = ?`,
			string(store.NodeUnhealthy), reason, store.ByControlPlane, sqlrow.Time(at), id)
		return err
	})
}
