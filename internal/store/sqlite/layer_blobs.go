package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// AddLayerBlob implements store.LayerBlobs.
func (s *Store) AddLayerBlob(ctx context.Context, b store.LayerBlob) (store.LayerBlob, error) {
	if err := store.ValidateLayerBlob(b); err != nil {
		return store.LayerBlob{}, err
	}
	kept := store.LayerBlob{Layer: b.Layer}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO layer_blobs (layer, digest, size) VALUES (?, ?, ?) ON CONFLICT (layer) DO NOTHING`,
			b.Layer, b.Digest, b.Size); err != nil {
			return fmt.Errorf("layer %s: record its archive: %w", b.Layer, err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT digest, size FROM layer_blobs WHERE layer = ?`, b.Layer).Scan(&kept.Digest, &kept.Size); err != nil {
			return fmt.Errorf("layer %s: read its archive: %w", b.Layer, err)
		}
		return nil
	})
	if err != nil {
		return store.LayerBlob{}, err
	}
	return kept, nil
}

// LayerBlob implements store.LayerBlobs.
func (s *Store) LayerBlob(ctx context.Context, layer string) (store.LayerBlob, error) {
	b := store.LayerBlob{Layer: layer}
	if err := store.ValidateLayer(layer); err != nil {
		return b, err
	}
	err := s.queryRow(ctx, `SELECT digest, size FROM layer_blobs WHERE layer = ?`, layer).Scan(&b.Digest, &b.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("layer %s has no archive recorded in object storage: %w", layer, errdefs.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("layer %s: read its archive: %w", layer, err)
	}
	return b, nil
}

// DeleteLayerBlob implements store.LayerBlobs.
func (s *Store) DeleteLayerBlob(ctx context.Context, layer string) error {
	if err := store.ValidateLayer(layer); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM layer_blobs WHERE layer = ?`, layer); err != nil {
			return fmt.Errorf("layer %s: delete its archive record: %w", layer, err)
		}
		return nil
	})
}
