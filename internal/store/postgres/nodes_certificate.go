package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// SetNodeCertificate implements store.Nodes.
func (s *Store) SetNodeCertificate(ctx context.Context, id, from, previous, certFingerprint, keyFingerprint string) error {
	if err := store.ValidateNodeCertificate(id, from, previous, certFingerprint, keyFingerprint); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var embedded bool
		var cur string
		err := tx.QueryRow(ctx, `SELECT embedded, cert_fingerprint FROM nodes WHERE id = $1 FOR UPDATE`, id).Scan(&embedded, &cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("node %q: %w", id, errdefs.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("node %q: %w", id, err)
		}
		if err := store.NodeCertificateIs(id, embedded, cur, from); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE nodes SET cert_fingerprint = $1, key_fingerprint = $2, previous_cert_fingerprint = $3 WHERE id = $4`,
			certFingerprint, keyFingerprint, previous, id)
		return err
	})
}
