package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// insertEvent records an event inside the transaction of the change it
// describes, so the log and the record never disagree.
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, id string, at time.Time, typ, msg string) error {
	if _, err := s.txExec(ctx, tx, sqlInsertEvent,
		id, sqlrow.Time(at), typ, store.SanitizeText(msg)); err != nil {
		return fmt.Errorf("sandbox %q: record %s event: %w", id, typ, err)
	}
	return nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, sandboxID string) ([]store.Event, error) {
	if err := store.ValidateID(sandboxID); err != nil {
		return nil, err
	}
	// The join tells an unknown sandbox (no row) from one without events
	// (one row of NULLs) in a single snapshot.
	rows, err := s.query(ctx, `SELECT e.id, e.time, e.type, e.message
		FROM sandboxes s LEFT JOIN events e ON e.sandbox_id = s.id
		WHERE s.id = ?
		ORDER BY e.id`, sandboxID)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: list events: %w", sandboxID, err)
	}
	defer rows.Close()
	var (
		out   []store.Event
		found bool
	)
	for rows.Next() {
		found = true
		var (
			id       sql.NullInt64
			at       sql.NullInt64
			typ, msg sql.NullString
		)
		if err := rows.Scan(&id, &at, &typ, &msg); err != nil {
			return nil, fmt.Errorf("sandbox %q: list events: %w", sandboxID, err)
		}
		if !id.Valid {
			continue
		}
		out = append(out, store.Event{
			ID: id.Int64, SandboxID: sandboxID, Time: sqlrow.FromTime(at.Int64), Type: typ.String, Message: msg.String,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox %q: list events: %w", sandboxID, err)
	}
	if !found {
		return nil, notFound(sandboxID)
	}
	return out, nil
}

// EventsAfter implements store.Store.
func (s *Store) EventsAfter(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT e.id, e.sandbox_id, e.time, e.type, e.message
		FROM events e JOIN sandboxes s ON s.id = e.sandbox_id
		WHERE e.id > ? AND (? = '' OR s.client_id = ?)
		ORDER BY e.id LIMIT ?`, f.After, f.Team, f.Team, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list events after %d: %w", f.After, err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var (
			ev store.Event
			at int64
		)
		if err := rows.Scan(&ev.ID, &ev.SandboxID, &at, &ev.Type, &ev.Message); err != nil {
			return nil, fmt.Errorf("list events after %d: %w", f.After, err)
		}
		ev.Time = sqlrow.FromTime(at)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events after %d: %w", f.After, err)
	}
	return out, nil
}
