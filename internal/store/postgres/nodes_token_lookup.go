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

// NodeTokenByHash implements store.Nodes.
func (s *Store) NodeTokenByHash(ctx context.Context, hash string) (store.NodeToken, error) {
	if err := store.ValidateText("node token hash", hash); err != nil {
		return store.NodeToken{}, err
	}
	t, err := sqlrow.ScanNodeToken(s.pool.QueryRow(ctx, `SELECT `+sqlrow.NodeTokenColumns+` FROM node_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("node token: %w", errdefs.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("node token: %w", err)
	}
	return t, nil
}
