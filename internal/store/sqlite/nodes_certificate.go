package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// SetNodeCertificate implements store.Nodes.
func (s *Store) SetNodeCertificate(ctx context.Context, id, from, previous, certFingerprint, keyFingerprint string) error {
	if err := store.ValidateNodeCertificate(id, from, previous, certFingerprint, keyFingerprint); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var embedded bool
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT embedded, cert_fingerprint FROM nodes WHERE id = ?`, id).Scan(&embedded, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeCertificateIs(id, embedded, cur, from); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE nodes SET cert_fingerprint = ?, key_fingerprint = ?, previous_cert_fingerprint = ? WHERE id = ?`,
			certFingerprint, keyFingerprint, previous, id)
		return err
	})
}
