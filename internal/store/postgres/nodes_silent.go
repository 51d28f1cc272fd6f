package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	return s.write(ctx, func(tx pgx.Tx) error {
		n, err := sqlrow.ScanNode(tx.QueryRow(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeSilent(n, from, silentSince); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE nodes SET status = $1, status_reason = $2, status_by = $3, status_at = $4 WHERE id = $5`,
			string(store.NodeUnhealthy), reason, store.ByControlPlane, sqlrow.Time(at), id)
		return err
	})
}
