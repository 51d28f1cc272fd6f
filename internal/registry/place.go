package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
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
// naming each node's reason) when no node can take it: the embedded
// node, or a ready joined node that serves its sandbox service. The
// embedded node is unmetered: its own admission (quotas,
// --max-sandboxes, the pool's memory) checks its capacity when it
// creates; a joined node's last heartbeat says what it has, and what
// it runs is the larger of that heartbeat's figures and the store's
// live sandboxes on it, read at every placement (one query for all
// nodes), so that creates within one heartbeat interval see each
// other. The team's live sandboxes on each node are counted from the
// same query, so that creates that come together spread.
func (r *Registry) Place(ctx context.Context, req scheduler.Request) (scheduler.Decision, error) {
	nodes, err := r.schedulerView(ctx)
	if err != nil {
		return scheduler.Decision{}, err
	}
	if sl, ok := r.st.(sandboxLister); ok && placesOnJoined(nodes, req.Team) {
		live, err := sl.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates})
		if err != nil {
			return scheduler.Decision{}, err
		}
		embedded := ""
		if r.embedded != nil {
			embedded = r.embedded.ID
		}
		nodes = withStoreCounts(nodes, live, req.Team, embedded)
	}
	return scheduler.Choose(nodes, req)
}

// placesOnJoined is whether the store's counts can change a placement:
// some node is metered (joined), or the team's sandboxes spread over
// more than one node.
func placesOnJoined(nodes []scheduler.Node, team string) bool {
	for _, n := range nodes {
		if !n.Unmetered {
			return true
		}
	}
	return team != "" && len(nodes) > 1
}

// sandboxLister is the part of a full store that counts a team's
// live sandboxes per node; a registry over a store of nodes alone places
// without that count.
type sandboxLister interface {
	ListSandboxes(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error)
}

// ServiceAddress is the address of joined node's sandbox service, as its
// last heartbeat said; ErrNotFound for an unknown node,
// ErrFailedPrecondition for one that serves none.
func (r *Registry) ServiceAddress(ctx context.Context, node string) (string, error) {
	n, err := r.st.GetNode(ctx, node)
	if err != nil {
		return "", err
	}
	if n.Report.ServiceAddress == "" {
		return "", fmt.Errorf("node %s serves no sandboxes (started without --listen): %w", node, errdefs.ErrFailedPrecondition)
	}
	return n.Report.ServiceAddress, nil
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
			Runs: n.Embedded || n.Report.ServiceAddress != "", Embedded: n.Embedded, Unmetered: n.Embedded,
			CPUCount: n.Report.CPUCount, AllocatedCPU: n.Report.AllocatedCPU, MemoryTotalBytes: n.Report.MemoryTotalBytes,
			AllocatedMemory: n.Report.AllocatedMemory, Sandboxes: n.Report.Sandboxes, MaxSandboxes: n.Report.MaxSandboxes,
			Pooled: n.Report.Pooled, Layers: n.Report.Templates, ObjectStorage: n.Report.ObjectStorage}
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
