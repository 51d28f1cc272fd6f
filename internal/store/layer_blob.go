package store

import (
	"context"
	"fmt"
	"regexp"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// LayerBlob records that a template layer is kept in object storage as
// one archive: its blob's content digest and size. A node given a layer
// with its LayerBlob fetches exactly that archive, so the record is what
// lets any control-plane replica name a layer to nodes, whichever one
// ran the build that pushed it.
type LayerBlob struct {
	// Layer is the layer's digest in the layer stores
	// ("sha256-<hex>", "key-<hex>").
	Layer string
	// Digest is the archive's content digest, "sha256:<hex>".
	Digest string
	// Size is the archive's length in bytes.
	Size int64
}

// LayerBlobs records where template layers are in object storage. It is
// part of Store.
type LayerBlobs interface {
	// AddLayerBlob records b unless the layer has a record already: the
	// first record of a layer stays, so that a later push or a node's
	// answer never redirects the layer other builds stack on. It
	// returns the record kept.
	AddLayerBlob(ctx context.Context, b LayerBlob) (LayerBlob, error)
	// LayerBlob returns the layer's record; ErrNotFound when it has
	// none.
	LayerBlob(ctx context.Context, layer string) (LayerBlob, error)
	// DeleteLayerBlob removes the layer's record; removing none is not
	// an error.
	DeleteLayerBlob(ctx context.Context, layer string) error
}

var (
	layerDigestRE = regexp.MustCompile(`^(sha256|sha512|key)-[0-9a-f]{16,128}$`)
	blobDigestRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// ValidateLayer checks a layer digest given to LayerBlobs.
func ValidateLayer(layer string) error {
	if !layerDigestRE.MatchString(layer) {
		return fmt.Errorf("layer %q: want <sha256|sha512|key>-<hex>: %w", layer, errdefs.ErrInvalidArgument)
	}
	return nil
}

// ValidateLayerBlob checks a record given to AddLayerBlob.
func ValidateLayerBlob(b LayerBlob) error {
	if err := ValidateLayer(b.Layer); err != nil {
		return err
	}
	if !blobDigestRE.MatchString(b.Digest) {
		return fmt.Errorf("layer %s archive digest %q: want sha256:<64 hex digits>: %w", b.Layer, b.Digest, errdefs.ErrInvalidArgument)
	}
	if b.Size < 0 {
		return fmt.Errorf("layer %s archive size %d: must not be negative: %w", b.Layer, b.Size, errdefs.ErrInvalidArgument)
	}
	return nil
}
