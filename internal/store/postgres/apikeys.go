package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// CreateAPIKey implements store.APIKeys.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if err := store.ValidateAPIKey(k); err != nil {
		return err
	}
	created := s.orNow(k.CreatedAt)
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO api_keys (id, name, prefix, hash, team, admin, created_at, last_used_at, role, scopes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
			k.ID, k.Name, k.Prefix, k.Hash, k.Team, k.Admin, sqlrow.Time(created), sqlrow.NullTimePtr(k.LastUsedAt),
			string(k.Role), strings.Join(k.Scopes, ","))
		if err != nil {
			return fmt.Errorf("api key %q: insert: %w", k.ID, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("api key %q: %w", k.ID, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// APIKeyByHash implements store.APIKeys.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	if err := store.ValidateText("api key hash", hash); err != nil {
		return store.APIKey{}, err
	}
	k, err := sqlrow.ScanAPIKey(s.pool.QueryRow(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("api key: %w", errdefs.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys implements store.APIKeys.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys ORDER BY created_at, id COLLATE "C"`)
}

// ListTeamAPIKeys implements store.APIKeys.
func (s *Store) ListTeamAPIKeys(ctx context.Context, team string) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys WHERE team = $1 ORDER BY created_at, id COLLATE "C"`, team)
}

// RenameAPIKey implements store.APIKeys.
func (s *Store) RenameAPIKey(ctx context.Context, team, id, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE api_keys SET name = $1 WHERE id = $2 AND team = $3`, name, id, team)
		if err != nil {
			return fmt.Errorf("api key %q: rename: %w", id, err)
		}
		if res.RowsAffected() == 0 {
			return fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

func (s *Store) listAPIKeys(ctx context.Context, query string, args ...any) ([]store.APIKey, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := sqlrow.ScanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey implements store.APIKeys.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if err := store.ValidateText("api key id", id); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx pgx.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRow(ctx, `SELECT revoked_at FROM api_keys WHERE id = $1 FOR UPDATE`, id).Scan(&revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("api key %q: %w", id, err)
		}
		if revoked.Valid {
			return fmt.Errorf("api key %q is already revoked: %w", id, errdefs.ErrFailedPrecondition)
		}
		_, err = tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, sqlrow.Time(at), id)
		return err
	})
}

// TouchAPIKey implements store.APIKeys. One UPDATE in the common case: the
// authenticator calls it at most once a minute per key, but each call is
// still a durable write.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if err := store.ValidateText("api key id", id); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx pgx.Tx) error {
		// Only forward: of two touches that race, the later time stays.
		res, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = $1
			WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, sqlrow.Time(at), id)
		if err != nil {
			return fmt.Errorf("api key %q: touch: %w", id, err)
		}
		if res.RowsAffected() > 0 {
			return nil
		}
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM api_keys WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("api key %q: %w", id, err)
		}
		return nil // used later already
	})
}

// CountAPIKeys implements store.APIKeys.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
