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

// CreateSecret implements store.Secrets.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret) error {
	if err := store.ValidateSecret(sec, true); err != nil {
		return err
	}
	created := s.orNow(sec.CreatedAt)
	updated := created
	if !sec.UpdatedAt.IsZero() {
		updated = sec.UpdatedAt
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO secrets (id, team, label, description, allowlist, sealed, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			sec.ID, sec.Team, sec.Label, sec.Description, sqlrow.Allowlist(sec.Allowlist), sec.Sealed, sqlrow.Time(created), sqlrow.Time(updated))
		if err != nil {
			return fmt.Errorf("secret %q: insert: %w", sec.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("secret %q or a secret labelled %q: %w", sec.ID, sec.Label, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// GetSecret implements store.Secrets.
func (s *Store) GetSecret(ctx context.Context, team, id string) (store.Secret, error) {
	if err := store.ValidateText("secret id", id); err != nil {
		return store.Secret{}, err
	}
	sec, err := sqlrow.ScanSecret(s.queryRow(ctx, `SELECT `+sqlrow.SecretColumns+` FROM secrets WHERE id = ? AND team = ?`, id, team))
	if errors.Is(err, sql.ErrNoRows) {
		return sec, fmt.Errorf("secret %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return sec, fmt.Errorf("secret %q: %w", id, err)
	}
	return sec, nil
}

// ListSecrets implements store.Secrets.
func (s *Store) ListSecrets(ctx context.Context, team string) ([]store.Secret, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.SecretColumns+` FROM secrets WHERE team = ? ORDER BY created_at, id`, team)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []store.Secret
	for rows.Next() {
		sec, err := sqlrow.ScanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		out = append(out, sec)
	}
	return out, rows.Err()
}

// UpdateSecret implements store.Secrets.
func (s *Store) UpdateSecret(ctx context.Context, sec store.Secret) error {
	if err := store.ValidateSecret(sec, false); err != nil {
		return err
	}
	updated := s.orNow(sec.UpdatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM secrets WHERE id = ? AND team = ?`, sec.ID, sec.Team).Scan(&n); err != nil {
			return fmt.Errorf("secret %q: %w", sec.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("secret %q: %w", sec.ID, errdefs.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM secrets WHERE team = ? AND label = ? AND id <> ?`, sec.Team, sec.Label, sec.ID).Scan(&n); err != nil {
			return fmt.Errorf("secret %q: %w", sec.ID, err)
		}
		if n > 0 {
			return fmt.Errorf("a secret labelled %q: %w", sec.Label, errdefs.ErrAlreadyExists)
		}
		var err error
		if len(sec.Sealed) > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE secrets SET label = ?, description = ?, allowlist = ?, sealed = ?, updated_at = ? WHERE id = ? AND team = ?`,
				sec.Label, sec.Description, sqlrow.Allowlist(sec.Allowlist), sec.Sealed, sqlrow.Time(updated), sec.ID, sec.Team)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE secrets SET label = ?, description = ?, allowlist = ?, updated_at = ? WHERE id = ? AND team = ?`,
				sec.Label, sec.Description, sqlrow.Allowlist(sec.Allowlist), sqlrow.Time(updated), sec.ID, sec.Team)
		}
		if err != nil {
			return fmt.Errorf("secret %q: update: %w", sec.ID, err)
		}
		return nil
	})
}

// DeleteSecret implements store.Secrets.
func (s *Store) DeleteSecret(ctx context.Context, team, id string) error {
	if err := store.ValidateText("secret id", id); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE id = ? AND team = ?`, id, team)
		if err != nil {
			return fmt.Errorf("secret %q: delete: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("secret %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}
