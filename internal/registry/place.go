package registry

import (
	"context"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
)

// viewTTL is how old the registry's view of the nodes may be when a
// create is placed: a status change on another control-plane replica is
// seen within it; one made through this replica at once.
const viewTTL = time.Second

// view is the nodes as the scheduler last saw them.
type view struct {
	mu    sync.Mutex
	at    time.Time
	nodes []scheduler.Node
}

// Place decides where a create goes and refuses it (ErrUnavailable,
// naming each node's reason) when no node can take it. Only the
// embedded node runs sandboxes today: the joined nodes are in the
// decision, and refused as not running sandboxes yet. The embedded node
// is unmetered: its own admission (quotas, --max-sandboxes, the pool's
// memory) checks its capacity when it creates.
func (r *Registry) Place(ctx context.Context, req scheduler.Request) (scheduler.Decision, error) {
	nodes, err := r.schedulerView(ctx)
	if err != nil {
		return scheduler.Decision{}, err
	}
	return scheduler.Choose(nodes, req)
}

func (r *Registry) schedulerView(ctx context.Context) ([]scheduler.Node, error) {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	if r.view.nodes != nil && r.now().Sub(r.view.at) < viewTTL {
		return r.view.nodes, nil
	}
	ns, err := r.st.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.Node, 0, len(ns))
	for _, n := range ns {
		if n.Embedded && (r.embedded == nil || n.ID != r.embedded.ID) {
			continue
		}
		sn := scheduler.Node{ID: n.ID, Ready: n.Status == store.NodeReady, Status: string(n.Status), Reason: n.StatusReason,
			Runs: n.Embedded, Unmetered: n.Embedded,
			CPUCount: n.Report.CPUCount, AllocatedCPU: n.Report.AllocatedCPU, MemoryTotalBytes: n.Report.MemoryTotalBytes,
			AllocatedMemory: n.Report.AllocatedMemory, Sandboxes: n.Report.Sandboxes, MaxSandboxes: n.Report.MaxSandboxes,
			Pooled: n.Report.Pooled, Layers: n.Report.Templates}
		out = append(out, sn)
	}
	r.view.nodes, r.view.at = out, r.now()
	return out, nil
}

// invalidate makes the next placement read the store again.
func (r *Registry) invalidate() {
	r.view.mu.Lock()
	r.view.nodes = nil
	r.view.mu.Unlock()
}
