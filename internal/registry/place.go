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
	// addrs are the joined nodes' sandbox service addresses.
	addrs map[string]string
	// liveAtReport is, for each joined node, the store's count of its
	// live sandboxes when its last report was received.
	liveAtReport map[string]int
}

// Place decides where a create goes and refuses it (ErrUnavailable,
// naming each node's reason) when no node can take it: the embedded
// node, or a ready joined node that serves its sandbox service. The
// embedded node is unmetered: its own admission (quotas,
// --max-sandboxes, the pool's memory) checks its capacity when it
// creates; a joined node's last heartbeat says what it has, and what
// it runs is the larger of that heartbeat's figures and the store's
// live sandboxes on it, summed at every placement by one grouped query
// (store.NodeUsage: a row per node, however many sandboxes run), so
// that creates within one heartbeat interval see each other. The
// team's live sandboxes on each node are counted by the same query, so
// that creates that come together spread.
//
// With a Prober, a joined node whose sandbox service did not answer is
// skipped for its backoff (the refusal says why), and a joined node
// whose service has not answered lately is probed before it is chosen:
// if it does not answer, the create is placed once more without it, so
// that it goes to another node with nothing made on the first.
func (r *Registry) Place(ctx context.Context, req scheduler.Request) (scheduler.Decision, error) {
	nodes, addrs, liveAtReport, err := r.schedulerView(ctx)
	if err != nil {
		return scheduler.Decision{}, err
	}
	if placesOnJoined(nodes, req.Team) {
		use, err := r.st.NodeUsage(ctx, req.Team)
		if err != nil {
			return scheduler.Decision{}, err
		}
		embedded := ""
		if r.embedded != nil {
			embedded = r.embedded.ID
		}
		nodes = withStoreCounts(nodes, use, liveAtReport, req.Team, embedded)
	}
	for probes := 0; ; {
		nodes = r.withReach(nodes, addrs)
		d, err := scheduler.Choose(nodes, req)
		if err != nil || probes == 2 || !r.needsProbe(d.NodeID, addrs[d.NodeID]) {
			return d, err
		}
		probes++
		if err := r.probeNode(ctx, d.NodeID, addrs[d.NodeID]); err == nil {
			return d, nil
		} else if ctx.Err() != nil {
			return scheduler.Decision{}, err
		}
	}
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

// Service is how to reach a joined node's sandbox service: the address
// its last heartbeat said and the fingerprint of the key it joined with,
// the only key its serving certificate may have. ErrNotFound for an
// unknown node, ErrFailedPrecondition for one that serves none,
// ErrUnavailable for one whose key is not recorded yet (recorded before
// keys were pinned: its next heartbeat records it).
func (r *Registry) Service(ctx context.Context, node string) (addr, keyFingerprint string, err error) {
	n, err := r.st.GetNode(ctx, node)
	if err != nil {
		return "", "", err
	}
	if n.Report.ServiceAddress == "" {
		return "", "", fmt.Errorf("node %s serves no sandboxes (started without --listen): %w", node, errdefs.ErrFailedPrecondition)
	}
	if n.KeyFingerprint == "" {
		return "", "", fmt.Errorf("node %s's key is not recorded yet: its next heartbeat records it: %w", node, errdefs.ErrUnavailable)
	}
	return n.Report.ServiceAddress, n.KeyFingerprint, nil
}

func (r *Registry) schedulerView(ctx context.Context) ([]scheduler.Node, map[string]string, map[string]int, error) {
	r.view.mu.Lock()
	defer r.view.mu.Unlock()
	if r.view.nodes != nil && r.now().Sub(r.view.at) < viewTTL {
		return r.view.nodes, r.view.addrs, r.view.liveAtReport, nil
	}
	ns, err := r.st.ListNodes(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]scheduler.Node, 0, len(ns))
	addrs := map[string]string{}
	liveAtReport := map[string]int{}
	for _, n := range ns {
		if n.Embedded && (r.embedded == nil || n.ID != r.embedded.ID) {
			continue
		}
		sn := scheduler.Node{ID: n.ID, Ready: n.Status == store.NodeReady, Status: string(n.Status), Reason: n.StatusReason,
			Runs: n.Embedded || n.Report.ServiceAddress != "", Embedded: n.Embedded, Unmetered: n.Embedded,
			CPUCount: n.Report.CPUCount, AllocatedCPU: n.Report.AllocatedCPU, MemoryTotalBytes: n.Report.MemoryTotalBytes,
			AllocatedMemory: n.Report.AllocatedMemory, Sandboxes: n.Report.Sandboxes, MaxSandboxes: n.Report.MaxSandboxes,
			Pooled: n.Report.Pooled, PooledReady: n.Report.PooledReady, Layers: n.Report.Templates, ObjectStorage: n.Report.ObjectStorage}
		if n.Embedded && r.embedded.Pooled != nil {
			// The embedded node sends no heartbeat: its pool is asked.
			sn.Pooled = r.embedded.Pooled()
		}
		out = append(out, sn)
		if !n.Embedded && n.Report.ServiceAddress != "" {
			addrs[n.ID] = n.Report.ServiceAddress
		}
		if !n.Embedded {
			liveAtReport[n.ID] = n.Report.LiveAtReport
		}
	}
	r.view.nodes, r.view.addrs, r.view.liveAtReport, r.view.at = out, addrs, liveAtReport, r.now()
	return out, addrs, liveAtReport, nil
}

// invalidate makes the next placement read the store again.
func (r *Registry) invalidate() {
	r.view.mu.Lock()
	r.view.nodes = nil
	r.view.mu.Unlock()
}
