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

// CreateNodeToken implements store.Nodes.
func (s *Store) CreateNodeToken(ctx context.Context, t store.NodeToken) error {
	if err := store.ValidateNodeToken(t); err != nil {
		return err
	}
	created := s.orNow(t.CreatedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO node_tokens (id, hash, created_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, t.Hash, sqlrow.Time(created), sqlrow.Time(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("node token %q: insert: %w", t.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("node token %q: %w", t.ID, errdefs.ErrAlreadyExists)
		}
		return nil
	})
}

// ListNodeTokens implements store.Nodes.
func (s *Store) ListNodeTokens(ctx context.Context) ([]store.NodeToken, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.NodeTokenColumns+` FROM node_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list node tokens: %w", err)
	}
	defer rows.Close()
	var out []store.NodeToken
	for rows.Next() {
		t, err := sqlrow.ScanNodeToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list node tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeNodeToken implements store.Nodes.
func (s *Store) RevokeNodeToken(ctx context.Context, id string, at time.Time) error {
	if err := store.ValidateText("node token id", id); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		t, err := sqlrow.ScanNodeToken(tx.QueryRowContext(ctx, `SELECT `+sqlrow.NodeTokenColumns+` FROM node_tokens WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node token %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node token %q: %w", id, err)
		}
		if err := store.NodeTokenSpent(t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE node_tokens SET revoked_at = ? WHERE id = ?`, sqlrow.Time(at), id)
		return err
	})
}

// JoinNode implements store.Nodes.
func (s *Store) JoinNode(ctx context.Context, tokenHash string, n store.Node, at time.Time) error {
	if err := store.ValidateNode(n); err != nil {
		return err
	}
	if err := store.ValidateText("node token hash", tokenHash); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		t, err := sqlrow.ScanNodeToken(tx.QueryRowContext(ctx, `SELECT `+sqlrow.NodeTokenColumns+` FROM node_tokens WHERE hash = ?`, tokenHash))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrUnknownNodeToken
		}
		if err != nil {
			return fmt.Errorf("node token: %w", err)
		}
		if err := store.NodeTokenUsable(t, at); err != nil {
			return err
		}
		if err := insertNode(ctx, tx, n, at); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE node_tokens SET used_at = ?, used_by = ? WHERE id = ?`, sqlrow.Time(at), n.ID, t.ID)
		return err
	})
}

// EnsureNode implements store.Nodes.
func (s *Store) EnsureNode(ctx context.Context, n store.Node) error {
	if err := store.ValidateNode(n); err != nil {
		return err
	}
	at := s.orNow(n.JoinedAt)
	return s.write(ctx, func(tx *sql.Tx) error {
		err := insertNode(ctx, tx, n, at)
		if errors.Is(err, errdefs.ErrAlreadyExists) {
			return nil
		}
		return err
	})
}

func insertNode(ctx context.Context, tx *sql.Tx, n store.Node, at time.Time) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, embedded, status, status_reason, status_by, status_at, cert_fingerprint, joined_at, key_fingerprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		n.ID, n.Embedded, string(n.Status), n.StatusReason, n.StatusBy, sqlrow.Time(at), n.CertFingerprint, sqlrow.Time(at), n.KeyFingerprint)
	if err != nil {
		return fmt.Errorf("node %q: insert: %w", n.ID, err)
	}
	if c, _ := res.RowsAffected(); c == 0 {
		return fmt.Errorf("node %q is already registered: %w", n.ID, errdefs.ErrAlreadyExists)
	}
	return nil
}

// GetNode implements store.Nodes.
func (s *Store) GetNode(ctx context.Context, id string) (store.Node, error) {
	if err := store.ValidateText("node id", id); err != nil {
		return store.Node{}, err
	}
	n, err := sqlrow.ScanNode(s.queryRow(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return n, fmt.Errorf("node %q: %w", id, err)
	}
	return n, nil
}

// ListNodes implements store.Nodes.
func (s *Store) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes ORDER BY joined_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	var out []store.Node
	for rows.Next() {
		n, err := sqlrow.ScanNode(rows)
		if err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// RecordNodeHeartbeat implements store.Nodes.
func (s *Store) RecordNodeHeartbeat(ctx context.Context, id string, r store.NodeReport, draining bool, at time.Time) (store.Node, error) {
	if err := store.ValidateText("node id", id); err != nil {
		return store.Node{}, err
	}
	at = s.orNow(at)
	var out store.Node
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := sqlrow.ScanNode(tx.QueryRowContext(ctx, `SELECT `+sqlrow.NodeColumns+` FROM nodes WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		n = store.AfterHeartbeat(n, r, draining, at)
		_, err = tx.ExecContext(ctx, `UPDATE nodes SET status = ?, status_reason = ?, status_by = ?, status_at = ?, heartbeat_at = ?, report = ? WHERE id = ?`,
			string(n.Status), n.StatusReason, n.StatusBy, sqlrow.Time(n.StatusAt), sqlrow.Time(at), sqlrow.NodeReport(r), id)
		out = n
		return err
	})
	return out, err
}

// SetNodeStatus implements store.Nodes.
func (s *Store) SetNodeStatus(ctx context.Context, id string, from []store.NodeStatus, to store.NodeStatus, by, reason string, at time.Time) error {
	if err := store.ValidateNodeStatusChange(id, from, to); err != nil {
		return err
	}
	at = s.orNow(at)
	return s.write(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT status FROM nodes WHERE id = ?`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if !store.NodeStatusIn(store.NodeStatus(cur), from) {
			return fmt.Errorf("node %q is %s, not %s: %w", id, cur, joinStatuses(from), errdefs.ErrFailedPrecondition)
		}
		_, err = tx.ExecContext(ctx, `UPDATE nodes SET status = ?, status_reason = ?, status_by = ?, status_at = ? WHERE id = ?`,
			string(to), reason, by, sqlrow.Time(at), id)
		return err
	})
}

func joinStatuses(ss []store.NodeStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}
