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

// CreateTeam implements store.Teams.
func (s *Store) CreateTeam(ctx context.Context, t store.Team) error {
	if err := store.ValidateTeam(t); err != nil {
		return err
	}
	created := s.orNow(t.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		// A deleted team's id is kept as a tombstone by its keys: made
		// again, it would inherit their history.
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE team = ?) AND NOT EXISTS (SELECT 1 FROM teams WHERE id = ?)`,
			t.ID, t.ID).Scan(&used); err != nil {
			return fmt.Errorf("team %q: check its id: %w", t.ID, err)
		}
		if used {
			return fmt.Errorf("team %q was deleted; a deleted team's id is not used again: make a new team: %w", t.ID, errdefs.ErrAlreadyExists)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, created_at, quota_sandboxes, quota_cpus, quota_memory_mb, quota_disk_bytes, quota_build_minutes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, t.Name, sqlrow.Time(created), t.Quota.Sandboxes, t.Quota.CPUs, t.Quota.MemoryMB, t.Quota.DiskBytes, t.Quota.BuildMinutes)
		if err != nil {
			return fmt.Errorf("team %q: insert: %w", t.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %q: %w", t.ID, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// GetTeam implements store.Teams.
func (s *Store) GetTeam(ctx context.Context, id string) (store.Team, error) {
	t, err := sqlrow.ScanTeam(s.queryRow(ctx, `SELECT `+sqlrow.TeamColumns+` FROM teams WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("team %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("team %q: %w", id, err)
	}
	return t, nil
}

// SetTeamQuota implements store.Teams.
func (s *Store) SetTeamQuota(ctx context.Context, id string, q store.Quota) error {
	if err := store.ValidateQuota(q); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE teams SET quota_sandboxes = ?, quota_cpus = ?, quota_memory_mb = ?,
			quota_disk_bytes = ?, quota_build_minutes = ? WHERE id = ?`,
			q.Sandboxes, q.CPUs, q.MemoryMB, q.DiskBytes, q.BuildMinutes, id)
		if err != nil {
			return fmt.Errorf("team %q: set quota: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// ListTeams implements store.Teams.
func (s *Store) ListTeams(ctx context.Context) ([]store.Team, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.TeamColumns+` FROM teams ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var out []store.Team
	for rows.Next() {
		t, err := sqlrow.ScanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("list teams: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RenameTeam implements store.Teams.
func (s *Store) RenameTeam(ctx context.Context, id, name string) error {
	if err := store.ValidateTeamName(name); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE teams SET name = ? WHERE id = ?`, name, id)
		if err != nil {
			return fmt.Errorf("team %q: rename: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %q: %w", id, errdefs.ErrNotFound)
		}
		return nil
	})
}

// DeleteTeam implements store.Teams.
func (s *Store) DeleteTeam(ctx context.Context, id string, at time.Time) error {
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := refuseLive(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("team %q: delete: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %q: %w", id, errdefs.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE team = ? AND revoked_at IS NULL`, sqlrow.Time(at), id); err != nil {
			return fmt.Errorf("team %q: revoke its keys: %w", id, err)
		}
		// Its secrets' values go with it: nothing of a deleted team may
		// use them again.
		if _, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE team = ?`, id); err != nil {
			return fmt.Errorf("team %q: delete its secrets: %w", id, err)
		}
		return nil
	})
}
