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

// CreateAccessToken implements store.AccessTokens.
func (s *Store) CreateAccessToken(ctx context.Context, t store.AccessToken) error {
	if err := store.ValidateAccessToken(t); err != nil {
		return err
	}
	created := s.orNow(t.CreatedAt)
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO access_tokens (id, team, key_id, name, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			t.ID, t.Team, t.KeyID, t.Name, sqlrow.Time(created), sqlrow.Time(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("access token %q: insert: %w", t.ID, err)
		}
		if res.RowsAffected() == 0 {
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
	t, err := sqlrow.ScanAccessToken(s.pool.QueryRow(ctx, `SELECT `+sqlrow.AccessTokenColumns+` FROM access_tokens WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		// One conditional write: of revocations at once, exactly one
		// finds the token unrevoked (a read first, then a write, let
		// several under read committed each see it unrevoked).
		res, err := tx.Exec(ctx, `UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND team = $3 AND revoked_at IS NULL`, sqlrow.Time(at), id, team)
		if err != nil {
			return fmt.Errorf("access token %q: revoke: %w", id, err)
		}
		if res.RowsAffected() == 1 {
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM access_tokens WHERE id = $1 AND team = $2`, id, team).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM access_tokens WHERE expires_at < $1`, sqlrow.Time(before))
		if err != nil {
			return fmt.Errorf("prune access tokens: %w", err)
		}
		n = res.RowsAffected()
		return nil
	})
	return int(n), err
}
