package lifecycle

import (
	"context"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// NodeTemplates is the optional ability of a template resolver to name a
// template's layers so that a joined node resolves them itself
// (catalog.Catalog.NodeLayers): ErrFailedPrecondition when only the
// embedded node can.
type NodeTemplates interface {
	NodeLayers(ctx context.Context, ref string) ([]runtime.TemplateLayer, error)
}

// templateLayers sets req's TemplateLayers for a template other than the
// base one (template is the id ref resolved to), or makes req
// EmbeddedOnly when no other node can start it: the resolver cannot
// name its layers for others (no object storage, a layer of this host
// only), or names none.
func (m *Manager) templateLayers(ctx context.Context, req *CreateRequest, template string) error {
	req.TemplateLayers, req.EmbeddedOnlyWhy = nil, ""
	if template == catalog.BaseID || req.EmbeddedOnly || m.placer == nil {
		// No placer: every sandbox is the embedded node's.
		return nil
	}
	nt, ok := m.tmpl.(NodeTemplates)
	if !ok {
		req.EmbeddedOnly = true
		return nil
	}
	layers, err := nt.NodeLayers(ctx, req.TemplateID)
	switch {
	case errdefs.IsFailedPrecondition(err):
		req.EmbeddedOnly, req.EmbeddedOnlyWhy = true, err.Error()
		return nil
	case err != nil:
		return err
	case len(layers) == 0:
		req.EmbeddedOnly = true
		return nil
	}
	req.TemplateLayers = layers
	return nil
}

// layerDigests are the digests among ls: what a node must hold or fetch.
func layerDigests(ls []runtime.TemplateLayer) []string {
	var out []string
	for _, l := range ls {
		if l.Digest != "" {
			out = append(out, l.Digest)
		}
	}
	return out
}

// LayerDigests are the digests of req's TemplateLayers, for placement:
// the layers a joined node must hold or fetch.
func (r CreateRequest) LayerDigests() []string { return layerDigests(r.TemplateLayers) }
