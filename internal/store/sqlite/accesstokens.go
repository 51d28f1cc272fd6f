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

// CreateAccessToken implements store.AccessTokens.
func (s *Store) CreateAccessToken(ctx context.Context, t store.AccessToken) error {
	if err := store.ValidateAccessToken(t); err != nil {
		return err
	}
	created := s.orNow(t.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO access_tokens (id, team, key_id, name, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, t.Team, t.KeyID, t.Name, sqlrow.Time(created), sqlrow.Time(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("access token %q: insert: %w", t.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("access token %q: %w", t.ID, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// GetAccessToken implements store.AccessTokens.
func (s *Store) GetAccessToken(ctx context.Context, id string) (store.AccessToken, error) {
	if err := store.ValidateText("access token id", id); err != nil {
		return store.AccessToken{}, err
	}
	t, err := sqlrow.ScanAccessToken(s.queryRow(ctx, `SELECT `+sqlrow.AccessTokenColumns+` FROM access_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("access token %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("access token %q: %w", id, err)
	}
	return t, nil
}

// RevokeAccessToken implements store.AccessTokens.
func (s *Store) RevokeAccessToken(ctx context.Context, team, id string, at time.Time) error {
	if err := store.ValidateText("access token id", id); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		// One conditional write, as in PostgreSQL: the writer's single
		// connection serialises revocations anyway, but the shape does
		// not depend on it.
		res, err := tx.ExecContext(ctx, `UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND team = ? AND revoked_at IS NULL`, sqlrow.Time(at), id, team)
		if err != nil {
			return fmt.Errorf("access token %q: revoke: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM access_tokens WHERE id = ? AND team = ?`, id, team).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("access token %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("access token %q: %w", id, err)
		}
		return fmt.Errorf("access token %q is already revoked: %w", id, errdefs.ErrFailedPrecondition)
	})
}

// PruneAccessTokens implements store.AccessTokens.
func (s *Store) PruneAccessTokens(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM access_tokens WHERE expires_at < ?`, sqlrow.Time(before))
		if err != nil {
			return fmt.Errorf("prune access tokens: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
