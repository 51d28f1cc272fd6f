package catalog

import (
	"context"
	"path/filepath"
)

// fetchMissing installs, from the layer store's remote (object storage),
// the layers among paths this host lacks: a template built on another
// host starts here. Paths outside the layer store (the base template's)
// are left to their own store.
func (c *Catalog) fetchMissing(ctx context.Context, paths []string) error {
	if c.layers == nil {
		return nil
	}
	for _, p := range paths {
		if filepath.Dir(filepath.Clean(p)) != filepath.Clean(c.layers.Dir()) {
			continue
		}
		if err := c.layers.Fetch(ctx, filepath.Base(p)); err != nil {
			return err
		}
	}
	return nil
}
