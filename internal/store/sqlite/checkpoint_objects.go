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

// SetCheckpointObject implements store.CheckpointObjects.
func (s *Store) SetCheckpointObject(ctx context.Context, o store.CheckpointObject) error {
	if err := store.ValidateCheckpointObject(o); err != nil {
		return err
	}
	at := o.StoredAt
	if at.IsZero() {
		at = s.now()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.currentState(ctx, tx, o.SandboxID)
		if err != nil {
			return err
		}
		if cur == store.StateEnded {
			return fmt.Errorf("sandbox %q ended: its checkpoint is not kept: %w", o.SandboxID, errdefs.ErrFailedPrecondition)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO checkpoint_objects (sandbox_id, digest, size, stored_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (sandbox_id) DO UPDATE SET digest = excluded.digest, size = excluded.size, stored_at = excluded.stored_at`,
			o.SandboxID, o.Digest, o.Size, sqlrow.Time(at))
		if err != nil {
			return fmt.Errorf("sandbox %q: record checkpoint object: %w", o.SandboxID, err)
		}
		return nil
	})
}

// CheckpointObject implements store.CheckpointObjects.
func (s *Store) CheckpointObject(ctx context.Context, id string) (store.CheckpointObject, error) {
	o := store.CheckpointObject{SandboxID: id}
	if err := store.ValidateID(id); err != nil {
		return o, err
	}
	var at int64
	err := s.queryRow(ctx, `SELECT digest, size, stored_at FROM checkpoint_objects WHERE sandbox_id = ?`, id).Scan(&o.Digest, &o.Size, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("sandbox %q has no checkpoint in object storage: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("sandbox %q: read checkpoint object: %w", id, err)
	}
	o.StoredAt = sqlrow.FromTime(at)
	return o, nil
}

// DeleteCheckpointObject implements store.CheckpointObjects.
func (s *Store) DeleteCheckpointObject(ctx context.Context, id string) error {
	if err := store.ValidateID(id); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoint_objects WHERE sandbox_id = ?`, id); err != nil {
			return fmt.Errorf("sandbox %q: delete checkpoint object: %w", id, err)
		}
		return nil
	})
}
