package oci

import (
	"context"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.LogReader = (*Driver)(nil)

// Logs returns the tail of the agent's log (its stdout and stderr, and the
// runtime's own errors at create).
func (d *Driver) Logs(_ context.Context, id string, max int64) ([]byte, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	if _, err := d.readState(id); err != nil {
		return nil, err
	}
	return []byte(tail(filepath.Join(d.sandboxDir(id), "agent.log"), max)), nil
}
