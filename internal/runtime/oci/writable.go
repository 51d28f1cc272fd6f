package oci

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.WritableLayerReader = (*Driver)(nil)

// WritableLayer returns the directory holding what the sandbox changed
// in its root filesystem (its overlay's upper directory, in overlayfs's
// format) and the host uid its root maps to, for a template builder that
// keeps a stopped build sandbox's changes as a layer. The directory is
// valid until the sandbox is destroyed.
func (d *Driver) WritableLayer(ctx context.Context, id string) (string, uint32, error) {
	if err := runtime.ValidateID(id); err != nil {
		return "", 0, err
	}
	st, err := d.readState(id)
	if err != nil {
		return "", 0, fmt.Errorf("sandbox %q: %w", id, err)
	}
	return filepath.Join(d.diskDir(id), "upper"), st.HostUID, nil
}
