package catalog

import (
	"context"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/store"
)

// BlobRecords keeps a layer store's blob records (which archive each
// layer is in object storage) in the store, where every control-plane
// replica reads them: a template built through one replica, or pushed
// by one, starts on nodes through any other.
type BlobRecords struct{ Store store.LayerBlobs }

var _ layer.BlobRecords = BlobRecords{}

// AddBlob implements layer.BlobRecords.
func (r BlobRecords) AddBlob(ctx context.Context, digest string, b layer.Blob) (layer.Blob, error) {
	kept, err := r.Store.AddLayerBlob(ctx, store.LayerBlob{Layer: digest, Digest: b.Digest, Size: b.Size})
	if err != nil {
		return layer.Blob{}, err
	}
	return layer.Blob{Digest: kept.Digest, Size: kept.Size}, nil
}

// Blob implements layer.BlobRecords.
func (r BlobRecords) Blob(ctx context.Context, digest string) (layer.Blob, bool, error) {
	b, err := r.Store.LayerBlob(ctx, digest)
	if errdefs.IsNotFound(err) {
		return layer.Blob{}, false, nil
	}
	if err != nil {
		return layer.Blob{}, false, err
	}
	return layer.Blob{Digest: b.Digest, Size: b.Size}, true, nil
}

// DeleteBlob implements layer.BlobRecords.
func (r BlobRecords) DeleteBlob(ctx context.Context, digest string) error {
	return r.Store.DeleteLayerBlob(ctx, digest)
}
