package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlrow"
)

// auditLock is the advisory lock that serialises writers of the audit
// chain: PostgreSQL runs transactions side by side, so without it two
// appends could read the same last hash and fork the chain.
const auditLock = 0x50a1b0c5_a0d17

// lockAudit takes the audit chain's lock until tx ends.
func lockAudit(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLock))
	return err
}

// AppendAudit implements store.Audit. Appends hold the audit chain's
// lock, so reading the last hash and inserting after it cannot
// interleave with another append or a prune.
func (s *Store) AppendAudit(ctx context.Context, key []byte, e store.AuditEntry) (store.AuditEntry, error) {
	e = store.SanitizeAudit(e)
	e.Time = s.orNow(e.Time).UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockAudit(ctx, tx); err != nil {
			return err
		}
		var last int64
		var prev string
		err := tx.QueryRow(ctx, `SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&last, &prev)
		if errors.Is(err, pgx.ErrNoRows) {
			// The first entry, or the first after retention emptied the
			// log: it follows the last entry deleted.
			err = tx.QueryRow(ctx, `SELECT last_id, hash FROM audit_anchor WHERE one = 1`).Scan(&last, &prev)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		} else if err != nil {
			return err
		}
		e.ID, e.PrevHash = last+1, prev
		e.Hash = store.AuditHash(key, e)
		_, err = tx.Exec(ctx, `INSERT INTO audit (id, at, team, key_id, key_prefix, action, target, remote, status, message, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
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
	where, args := []string{"id > $1"}, []any{f.AfterID}
	if !f.Since.IsZero() {
		args = append(args, sqlrow.Time(f.Since))
		where = append(where, fmt.Sprintf("at >= $%d", len(args)))
	}
	if f.Team != "" {
		args = append(args, f.Team)
		where = append(where, fmt.Sprintf("team = $%d", len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, `SELECT id, at, team, key_id, key_prefix, action, target, remote, status, message, prev_hash, hash
		FROM audit WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		if err := lockAudit(ctx, tx); err != nil {
			return err
		}
		var last sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT MAX(id) FROM audit WHERE at < $1`, sqlrow.Time(before)).Scan(&last); err != nil {
			return err
		}
		if !last.Valid {
			return nil
		}
		var hash string
		if err := tx.QueryRow(ctx, `SELECT hash FROM audit WHERE id = $1`, last.Int64).Scan(&hash); err != nil {
			return err
		}
		// Everything up to the last old entry goes, so the kept log
		// stays one unbroken chain from the anchor.
		res, err := tx.Exec(ctx, `DELETE FROM audit WHERE id <= $1`, last.Int64)
		if err != nil {
			return err
		}
		n = res.RowsAffected()
		_, err = tx.Exec(ctx, `INSERT INTO audit_anchor (one, last_id, hash) VALUES (1, $1, $2)
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
	err := s.pool.QueryRow(ctx, `SELECT COALESCE((SELECT last_id FROM audit_anchor WHERE one = 1), 0),
		COALESCE((SELECT hash FROM audit_anchor WHERE one = 1), '')`).Scan(&a.LastID, &a.Hash)
	if err != nil {
		return store.AuditAnchorPoint{}, fmt.Errorf("audit anchor: %w", err)
	}
	return a, nil
}
