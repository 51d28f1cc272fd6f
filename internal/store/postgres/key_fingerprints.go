package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
)

// ClaimKeyFingerprint implements store.KeyFingerprints.
func (s *Store) ClaimKeyFingerprint(ctx context.Context, name, fingerprint string) (string, error) {
	if err := store.ValidateKeyFingerprint(name, fingerprint); err != nil {
		return "", err
	}
	var recorded string
	err := s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO key_fingerprints (name, fingerprint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fingerprint); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT fingerprint FROM key_fingerprints WHERE name = $1`, name).Scan(&recorded)
	})
	if err != nil {
		return "", fmt.Errorf("fingerprint of the %s: %w", name, err)
	}
	return recorded, nil
}
