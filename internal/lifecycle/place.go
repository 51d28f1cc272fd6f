package lifecycle

import "context"

// Placer decides where a create goes before anything is recorded: the
// joined node's name, or "" for the embedded node; an error (no node is
// ready for it) refuses the create, which then changes nothing. A
// sandbox placed on a joined node is recorded with it (store.Sandbox.Node)
// and the manager's driver must route its calls there (noderoute).
type Placer func(ctx context.Context, req CreateRequest) (node string, err error)

// UsePlacer sets the placement decision of creates; call it before
// Start.
func (m *Manager) UsePlacer(p Placer) { m.placer = p }

// NodeNamer is the optional ability of a driver that routes to nodes
// (noderoute) to name the runtime driver of a joined node, recorded as a
// sandbox's Runtime.
type NodeNamer interface {
	NameOn(ctx context.Context, node string) string
}

// runtimeName is the name of the driver that runs sandboxes on node ("":
// the embedded node).
func (m *Manager) runtimeName(ctx context.Context, node string) string {
	if nn, ok := m.driver.(NodeNamer); ok && node != "" {
		return nn.NameOn(ctx, node)
	}
	return m.driver.Name()
}
