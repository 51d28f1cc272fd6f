package lifecycle

import "context"

// Placer decides where a create goes before anything is recorded: an
// error (no node is ready for it) refuses the create, which then changes
// nothing. Today the control plane creates on its embedded node only, so
// a Placer says whether that node may take the sandbox.
type Placer func(ctx context.Context, req CreateRequest) error

// UsePlacer sets the placement decision of creates; call it before
// Start.
func (m *Manager) UsePlacer(p Placer) { m.placer = p }
