package nodeagent

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/template"
)

// nodeTemplates resolves the templates of a node's sandboxes: the base
// template by name, built here from its recipe; any other by the layers
// its create names (runtime.Spec.Layers), the base template's found in
// this node's cache and the others in its layer store, fetched from
// object storage when missing as the very archive the control plane
// names (TemplateLayer.Blob), never by the bucket's own records.
type nodeTemplates struct {
	base   *template.Store
	layers *layer.Store
	use    *layerUse // nil: not recorded
	// stacks are the root filesystems of the template builds running
	// here, which their build sandboxes are created from; nil: none.
	stacks *builder.Stacks
}

// Layers implements oci.Templates: the node knows the base template only
// by name, and a build sandbox by its build's stack.
func (t nodeTemplates) Layers(ctx context.Context, name string) ([]string, error) {
	if t.stacks != nil {
		if l, ok := t.stacks.Layers(name); ok {
			return l, nil
		}
	}
	return t.base.Layers(ctx, name)
}

// ResolveLayers implements oci.LayerResolver.
func (t nodeTemplates) ResolveLayers(ctx context.Context, ls []runtime.TemplateLayer) ([]string, error) {
	out := make([]string, len(ls))
	var base []string
	for i, l := range ls {
		if l.Base == "" {
			if !layer.ValidDigest(l.Digest) {
				return nil, fmt.Errorf("layer %d: %q is not a layer digest: %w", i, l.Digest, errdefs.ErrInvalidArgument)
			}
			blob := layer.Blob{Digest: l.Blob, Size: l.Size}
			if !blob.Valid() && !t.layers.Has(l.Digest) {
				// A node trusts no record of the bucket's: only the
				// archive the control plane pushed, which it names.
				return nil, fmt.Errorf("layer %d (%s): the control plane named no archive %q to fetch it as (a control plane older than this node?): refused: %w",
					i, l.Digest, l.Blob, errdefs.ErrFailedPrecondition)
			}
			if err := t.layers.FetchVerified(ctx, l.Digest, blob, l.Tree); err != nil {
				if errdefs.IsNotFound(err) {
					// The template exists: its layer is not where this
					// node looks, perhaps not yet (a build's uploads
					// follow it in the background).
					return nil, fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
				}
				return nil, err
			}
			t.use.used(l.Digest)
			out[i] = t.layers.Path(l.Digest)
			continue
		}
		if base == nil {
			var err error
			if base, err = t.base.Layers(ctx, "base"); err != nil {
				return nil, err
			}
		}
		p, ok := baseLayer(t.base.Dir(), base, l.Base)
		if !ok {
			return nil, fmt.Errorf("the template stacks on base template layer %s; this node's base template is %v (another soulbox version built it): %w",
				l.Base, relativeTo(t.base.Dir(), base), errdefs.ErrFailedPrecondition)
		}
		out[i] = p
	}
	return out, nil
}

// baseLayer is the one of base (the base template's layers, in cache)
// whose place in cache is rel.
func baseLayer(cache string, base []string, rel string) (string, bool) {
	for _, p := range base {
		if r, err := filepath.Rel(cache, p); err == nil && r == rel {
			return p, true
		}
	}
	return "", false
}

// relativeTo is each of ps relative to dir.
func relativeTo(dir string, ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if r, err := filepath.Rel(dir, p); err == nil {
			p = r
		}
		out[i] = p
	}
	return out
}
