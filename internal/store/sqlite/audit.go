package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// AppendAudit implements store.Audit. SQLite has one writer at a time,
// so reading the last hash and inserting after it cannot interleave
// with another append.
func (s *Store) AppendAudit(ctx context.Context, key []byte, e store.AuditEntry) (store.AuditEntry, error) {
	e = store.SanitizeAudit(e)
	e.Time = s.orNow(e.Time).UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var last int64
		var prev string
		err := s.txQueryRow(ctx, tx, sqlAuditLast).Scan(&last, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			// The first entry, or the first after retention emptied the
			// log: it follows the last entry deleted.
			err = tx.QueryRowContext(ctx, `SELECT last_id, hash FROM audit_anchor WHERE one = 1`).Scan(&last, &prev)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		} else if err != nil {
			return err
		}
		e.ID, e.PrevHash = last+1, prev
		e.Hash = store.AuditHash(key, e)
		_, err = s.txExec(ctx, tx, sqlAuditInsert,
			e.ID, sqlrow.Time(e.Time), e.Team, e.KeyID, e.KeyPrefix, e.Action, e.Target, e.Remote, e.Status, e.Message, e.PrevHash, e.Hash)
		return err
	})
	if err != nil {
		return store.AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	return e, nil
}

// ListAudit implements store.Audit.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, sqlrow.Time(f.Since))
	}
	if f.Team != "" {
		where, args = append(where, "team = ?"), append(args, f.Team)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT id, at, team, key_id, key_prefix, action, target, remote, status, message, prev_hash, hash
		FROM audit WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Team, &e.KeyID, &e.KeyPrefix, &e.Action, &e.Target, &e.Remote, &e.Status, &e.Message, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.Time = sqlrow.FromTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PruneAudit implements store.Audit.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM audit WHERE at < ?`, sqlrow.Time(before)).Scan(&last); err != nil {
			return err
		}
		if !last.Valid {
			return nil
		}
		var hash string
		if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit WHERE id = ?`, last.Int64).Scan(&hash); err != nil {
			return err
		}
		// Everything up to the last old entry goes, so the kept log
		// stays one unbroken chain from the anchor.
		res, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE id <= ?`, last.Int64)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_anchor (one, last_id, hash) VALUES (1, ?, ?)
			ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash`, last.Int64, hash)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit: %w", err)
	}
	return int(n), nil
}

// AuditAnchor implements store.Audit.
func (s *Store) AuditAnchor(ctx context.Context) (store.AuditAnchorPoint, error) {
	var a store.AuditAnchorPoint
	err := s.queryRow(ctx, `SELECT COALESCE((SELECT last_id FROM audit_anchor WHERE one = 1), 0),
		COALESCE((SELECT hash FROM audit_anchor WHERE one = 1), '')`).Scan(&a.LastID, &a.Hash)
	if err != nil {
		return store.AuditAnchorPoint{}, fmt.Errorf("audit anchor: %w", err)
	}
	return a, nil
}
