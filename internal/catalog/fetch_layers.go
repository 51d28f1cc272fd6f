package catalog

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"

	"github.com/soulbox/soulbox/internal/layer"
)

// recordedLayer is how a build records layer p: a layer of a layer store
// (this host's, or a builder's whose store is a "layers" directory of
// its own) by its digest, so that the record means the same on every
// host, whatever its data directory; any other path (the base
// template's) as it is.
func (c *Catalog) recordedLayer(p string) string {
	if _, ok := c.storeDigest(p); ok {
		return filepath.Base(filepath.Clean(p))
	}
	return p
}

// recordedLayers is recordedLayer of each of ps.
func (c *Catalog) recordedLayers(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = c.recordedLayer(p)
	}
	return out
}

// storeDigest returns the digest of recorded layer l when it is a layer
// of a layer store: a digest, a path in this host's layer store, or a
// path ".../layers/<digest>" written down by a host whose data directory
// was elsewhere (records made before layers were recorded by digest).
func (c *Catalog) storeDigest(l string) (string, bool) {
	if c.layers == nil {
		return "", false
	}
	if layer.ValidDigest(l) {
		return l, true
	}
	if !filepath.IsAbs(l) {
		return "", false
	}
	clean := filepath.Clean(l)
	d, parent := filepath.Base(clean), filepath.Dir(clean)
	if !layer.ValidDigest(d) {
		return "", false
	}
	if parent == filepath.Clean(c.layers.Dir()) || filepath.Base(parent) == "layers" {
		return d, true
	}
	return "", false
}

// layerPath is where recorded layer l is, or would be once fetched, on
// this host.
func (c *Catalog) layerPath(l string) string {
	if d, ok := c.storeDigest(l); ok {
		return c.layers.Path(d)
	}
	return l
}

// localLayers returns where the recorded layers are on this host,
// installing from the layer store's remote (object storage) those of the
// layer store this host lacks: a template built on another host starts
// here. Other paths (the base template's) are left to their own store.
// The first trees of them are named by their tree digest (a snapshot's
// files), which a fetched copy must match.
func (c *Catalog) localLayers(ctx context.Context, recorded []string, trees int) ([]string, error) {
	out := make([]string, len(recorded))
	for i, l := range recorded {
		d, ok := c.storeDigest(l)
		if !ok {
			out[i] = c.basePath(l)
			continue
		}
		if err := c.layers.FetchVerified(ctx, d, layer.Blob{}, i < trees); err != nil {
			return nil, err
		}
		out[i] = c.layers.Path(d)
	}
	return out, nil
}

// localLayer is localLayers of one recorded layer, named by its tree
// digest when tree is set.
func (c *Catalog) localLayer(ctx context.Context, recorded string, tree bool) (string, error) {
	trees := 0
	if tree {
		trees = 1
	}
	out, err := c.localLayers(ctx, []string{recorded}, trees)
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// basePath is where recorded layer l, a base template layer, is on this
// host: one a joined node's build recorded by its place in the template
// cache is in this host's cache (when its recipe version is the same).
func (c *Catalog) basePath(l string) string {
	if !basePlace(l) {
		return l
	}
	if cache, ok := c.base.(interface{ Dir() string }); ok {
		return filepath.Join(cache.Dir(), l)
	}
	return l
}

// recordBlobs records the archives a joined node uploaded a build's
// layers as (digest to archive), durably, as this host's own uploads
// are: NodeLayers names them to the nodes that create from the build.
// The first record of a layer stays.
func (c *Catalog) recordBlobs(ctx context.Context, blobs map[string]layer.Blob) error {
	if len(blobs) == 0 {
		return nil
	}
	if c.layers == nil {
		return fmt.Errorf("no layer store to record the archives of the build's layers in: %w", errdefs.ErrFailedPrecondition)
	}
	for d, b := range blobs {
		// A layer recorded already keeps its archive: a node's answer
		// does not redirect the layer other builds stack on.
		if _, ok, err := c.layers.Blob(ctx, d); err != nil {
			return err
		} else if ok {
			continue
		}
		if err := c.layers.RecordBlob(ctx, d, b); err != nil {
			return err
		}
	}
	return nil
}
