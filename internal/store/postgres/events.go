package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// eventsLock is the advisory lock key (the bytes of "sbxevnt") that
// transactions recording events hold from their insert to their commit.
const eventsLock int64 = 0x73627865766e7400

// insertEvent records an event inside the transaction of the change it
// describes, so the log and the record never disagree.
//
// An identity column hands out ids when rows are inserted, but
// transactions commit in their own order: were a transaction to take id 10
// and commit after another took 11 and committed, a reader tailing by id
// (EventsAfter, an SSE client's Last-Event-ID) would read 11 and pass over
// 10 for good. The transaction-level advisory lock taken first makes the
// recorders of events take turns from their insert until their commit, so
// ids become visible in the order they were given. Every caller records
// its event last in its transaction (keep it so), so the lock is held for
// the commit alone and no other lock is waited for while it is held. The
// cost: writers of events commit one at a time.
func insertEvent(ctx context.Context, tx pgx.Tx, id string, at time.Time, typ, msg string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, eventsLock); err != nil {
		return fmt.Errorf("sandbox %q: record %s event: lock: %w", id, typ, err)
	}
	// Readers on every process hear of it at the commit (WatchEvents),
	// told in the same statement.
	if _, err := tx.Exec(ctx, `WITH e AS (INSERT INTO events (sandbox_id, time, type, message) VALUES ($1, $2, $3, $4) RETURNING 1)
		SELECT pg_notify('`+eventsChannel+`', '') FROM e`,
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
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.time, e.type, e.message
		FROM sandboxes s LEFT JOIN events e ON e.sandbox_id = s.id
		WHERE s.id = $1
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
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.sandbox_id, e.time, e.type, e.message
		FROM events e JOIN sandboxes s ON s.id = e.sandbox_id
		WHERE e.id > $1 AND ($2 = '' OR s.client_id = $2)
		ORDER BY e.id LIMIT $3`, f.After, f.Team, f.Limit)
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
