package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, prefix, hash, team, admin, created_at, last_used_at, role, scopes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			k.ID, k.Name, k.Prefix, k.Hash, k.Team, k.Admin, sqlrow.Time(created), sqlrow.NullTimePtr(k.LastUsedAt),
			string(k.Role), strings.Join(k.Scopes, ","))
		if err != nil {
			return fmt.Errorf("api key %q: insert: %w", k.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
	k, err := sqlrow.ScanAPIKey(s.queryRow(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("api key: %w", errdefs.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys implements store.APIKeys.
func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys ORDER BY created_at, id`)
}

// ListTeamAPIKeys implements store.APIKeys.
func (s *Store) ListTeamAPIKeys(ctx context.Context, team string) ([]store.APIKey, error) {
	return s.listAPIKeys(ctx, `SELECT `+sqlrow.APIKeyColumns+` FROM api_keys WHERE team = ? ORDER BY created_at, id`, team)
}

// RenameAPIKey implements store.APIKeys.
func (s *Store) RenameAPIKey(ctx context.Context, team, id, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET name = ? WHERE id = ? AND team = ?`, name, id, team)
		if err != nil {
			return fmt.Errorf("api key %q: rename: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

func (s *Store) listAPIKeys(ctx context.Context, query string, args ...any) ([]store.APIKey, error) {
	rows, err := s.query(ctx, query, args...)
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
	return s.write(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_keys WHERE id = ?`, id).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("api key %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("api key %q: %w", id, err)
		}
		if revoked.Valid {
			return fmt.Errorf("api key %q is already revoked: %w", id, errdefs.ErrFailedPrecondition)
		}
		_, err = tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, sqlrow.Time(at), id)
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
	return s.write(ctx, func(tx *sql.Tx) error {
		// Only forward: of two touches that race, the later time stays.
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, sqlrow.Time(at), id, sqlrow.Time(at))
		if err != nil {
			return fmt.Errorf("api key %q: touch: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
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
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
