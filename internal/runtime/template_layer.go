package runtime

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxTemplateLayers bounds a Spec's Layers: overlayfs stacks at most
// 500 lower directories.
const maxTemplateLayers = 500

// TemplateLayer is one layer of a template, named so that any node can
// find it: a layer of the content-addressed layer store (Digest), which
// a node lacking it fetches from object storage as the very archive
// Blob names (whoever else writes to the bucket), or a layer
// of the base template (Base), which every node builds itself from the
// same recipe. Exactly one of Digest and Base is set.
type TemplateLayer struct {
	// Digest names a layer of the layer store.
	Digest string `json:"digest,omitempty"`
	// Tree: Digest is the hash of the layer's tree (a snapshot's
	// files), which a fetched copy must hash to once unpacked.
	Tree bool `json:"tree,omitempty"`
	// Blob is the archive layer Digest is in object storage, as the
	// control plane pushed it ("sha256:<hex>"), and Size its bytes: a
	// node fetches that archive and nothing else.
	Blob string `json:"blob,omitempty"`
	Size int64  `json:"size,omitempty"`
	// Base is the base template's layer, relative to the template
	// cache: its recipe version and directory ("base/<version>/rootfs").
	// A node whose base template is another version refuses it.
	Base string `json:"base,omitempty"`
}

// validateTemplateLayers checks the form of ls; whether a digest names
// a layer is the resolver's to say.
func validateTemplateLayers(ls []TemplateLayer) error {
	if len(ls) > maxTemplateLayers {
		return fmt.Errorf("%d layers: at most %d stack: %w", len(ls), maxTemplateLayers, errdefs.ErrInvalidArgument)
	}
	for i, l := range ls {
		if (l.Digest == "") == (l.Base == "") {
			return fmt.Errorf("layer %d: give a digest or a base layer, exactly one: %w", i, errdefs.ErrInvalidArgument)
		}
		if l.Tree && l.Digest == "" {
			return fmt.Errorf("layer %d: only a digest is a tree digest: %w", i, errdefs.ErrInvalidArgument)
		}
		if (l.Blob != "" || l.Size != 0) && l.Digest == "" {
			return fmt.Errorf("layer %d: only a digest's layer is an archive in object storage: %w", i, errdefs.ErrInvalidArgument)
		}
		if l.Size < 0 {
			return fmt.Errorf("layer %d: archive size %d: give 0 or more bytes: %w", i, l.Size, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}
