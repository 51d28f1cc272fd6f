package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/soulbox/soulbox/internal/store"
)

// ClaimKeyFingerprint implements store.KeyFingerprints.
func (s *Store) ClaimKeyFingerprint(ctx context.Context, name, fingerprint string) (string, error) {
	if err := store.ValidateKeyFingerprint(name, fingerprint); err != nil {
		return "", err
	}
	var recorded string
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_fingerprints (name, fingerprint) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fingerprint); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT fingerprint FROM key_fingerprints WHERE name = ?`, name).Scan(&recorded)
	})
	if err != nil {
		return "", fmt.Errorf("fingerprint of the %s: %w", name, err)
	}
	return recorded, nil
}
