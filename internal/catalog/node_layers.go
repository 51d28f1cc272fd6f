package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// NodeLayers returns the layers of the template ref names in the form
// any node can resolve (runtime.Spec.Layers): its layer store layers by
// digest, to fetch from object storage, and the base template's by their
// place in the template cache, which each node builds itself. It is
// ErrFailedPrecondition, saying why, when only this host can start the
// template: no object storage holds its layers, or it stacks on a layer
// that is neither (a base template of an older recipe, a build
// sandbox's stack), or one whose archive no control plane recorded
// (layer.Store.Blob, kept in the store for every replica): a layer is
// named with the archive it is in object storage, which is all a node
// trusts. The default template itself names no layers: every node knows
// it by name.
func (c *Catalog) NodeLayers(ctx context.Context, ref string) ([]runtime.TemplateLayer, error) {
	if _, ok := c.stacks.Layers(ref); ok {
		return nil, fmt.Errorf("template %q is a build's own stack: %w", ref, errdefs.ErrFailedPrecondition)
	}
	_, b, err := c.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.nodeLayers(ctx, ref, b)
}

// nodeLayers is NodeLayers of build b of the template ref names.
func (c *Catalog) nodeLayers(ctx context.Context, ref string, b store.TemplateBuild) ([]runtime.TemplateLayer, error) {
	if b.Source == sourceDebootstrap {
		return nil, nil
	}
	if from, ok := packTemplate(b); ok {
		// Its files are in its blob: its layers are its source
		// template's.
		return c.NodeLayers(ctx, from)
	}
	if c.layers == nil || !c.layers.HasRemote() {
		return nil, fmt.Errorf("template %q: its layers are on this host only (no object storage is configured): %w", ref, errdefs.ErrFailedPrecondition)
	}
	trees := 0
	if b.Source == sourceSnapshot {
		trees = 1 // its files, named by their tree digest
	}
	var base []string
	out := make([]runtime.TemplateLayer, len(b.Layers))
	for i, l := range b.Layers {
		if d, ok := c.storeDigest(l); ok {
			blob, ok, err := c.layers.Blob(ctx, d)
			if err != nil {
				return nil, err
			}
			if !ok && !c.layers.Has(d) {
				// Every replica records in the store what it pushed or
				// had a node build; one whose records were still in
				// its data directory moves them there when it starts.
				return nil, fmt.Errorf("template %q: no record of the archive its layer %s is in object storage (a control plane of an older version that ran its build records it once upgraded and started): %w", ref, d, errdefs.ErrFailedPrecondition)
			}
			if !ok {
				// Pushed now, for the creates to come.
				c.layers.PushMissing(ctx, d)
				return nil, fmt.Errorf("template %q: its layer %s is not in object storage (its upload failed, is under way, or predates the object storage): %w", ref, d, errdefs.ErrFailedPrecondition)
			}
			out[i] = runtime.TemplateLayer{Digest: d, Tree: i < trees, Blob: blob.Digest, Size: blob.Size}
			continue
		}
		if basePlace(l) {
			// Recorded by a build on a joined node: already its place.
			out[i] = runtime.TemplateLayer{Base: l}
			continue
		}
		if base == nil {
			var err error
			if base, err = c.base.Layers(ctx, BaseID); err != nil {
				return nil, err
			}
		}
		rel, ok := c.baseLayerName(base, l)
		if !ok {
			return nil, fmt.Errorf("template %q stacks on %s, a layer of this host only (a base template built from an older recipe): %w", ref, l, errdefs.ErrFailedPrecondition)
		}
		out[i] = runtime.TemplateLayer{Base: rel}
	}
	return out, nil
}

// basePlace reports whether recorded layer l is a base template layer
// named by its place in the template cache ("base/<version>/rootfs"),
// as a build on a joined node records it.
func basePlace(l string) bool {
	return filepath.IsLocal(l) && strings.HasPrefix(l, BaseID+"/") && filepath.Clean(l) == l
}

// baseLayerName is where layer l of the base template is in the template
// cache, when l is one of base, the base template's current layers. They
// are compared by their place in the cache ("base/<recipe
// version>/rootfs"), not by absolute path: a build recorded when the
// cache was reached by another path (another --templates-dir, a moved
// data directory) names the same layer.
func (c *Catalog) baseLayerName(base []string, l string) (string, bool) {
	cache, ok := c.base.(interface{ Dir() string })
	if !ok {
		return "", false
	}
	l = filepath.Clean(l)
	for _, b := range base {
		rel, err := filepath.Rel(cache.Dir(), b)
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		if l == filepath.Clean(b) || strings.HasSuffix(l, string(filepath.Separator)+rel) {
			return rel, true
		}
	}
	return "", false
}
