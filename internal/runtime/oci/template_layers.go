package oci

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// LayerResolver is a Templates that also resolves the layers a Spec
// names itself (runtime.Spec.Layers): a node's, which knows only the
// base template by name and finds every other template's layers by
// what the control plane recorded.
type LayerResolver interface {
	ResolveLayers(ctx context.Context, layers []runtime.TemplateLayer) ([]string, error)
}

// templateLayers returns the directories of spec's template, topmost
// first: its Layers resolved when it names them, else its Template by
// name.
func (d *Driver) templateLayers(ctx context.Context, spec runtime.Spec) ([]string, error) {
	if len(spec.Layers) == 0 {
		return d.templates.Layers(ctx, spec.Template)
	}
	r, ok := d.templates.(LayerResolver)
	if !ok {
		return nil, fmt.Errorf("template %q comes with its layers, and this host finds templates by name only: %w", spec.Template, errdefs.ErrFailedPrecondition)
	}
	return r.ResolveLayers(ctx, spec.Layers)
}
