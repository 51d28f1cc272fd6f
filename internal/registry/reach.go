package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
)

// Prober checks that a joined node's sandbox service answers at addr: a
// connection, the mutual TLS handshake and one call.
type Prober func(ctx context.Context, node, addr string) error

const (
	// probeTimeout bounds one probe: a service that does not answer
	// within it is as unreachable as one that refuses.
	probeTimeout = 3 * time.Second
	// maxReachBackoff bounds how long a node that keeps failing its
	// probes is skipped before it is tried again.
	maxReachBackoff = time.Minute
)

// reach is what this control plane knows of reaching each joined node's
// sandbox service. It is this replica's own view, kept in memory: a
// node's address may answer one replica and not another (a firewall),
// and a new process learns it again within one probe round.
type reach struct {
	mu    sync.Mutex
	probe Prober
	nodes map[string]*reachState
}

type reachState struct {
	addr     string    // the address these figures are for
	okAt     time.Time // its last answer
	failures int       // probes failed in a row
	until    time.Time // skipped by placement until then
	reason   string
}

// UseProber sets how the sandbox services of joined nodes are checked;
// without one, placement trusts every address a heartbeat reports.
// Call it before the first placement.
func (r *Registry) UseProber(p Prober) {
	r.reach.mu.Lock()
	r.reach.probe = p
	r.reach.mu.Unlock()
}

// unreachable says why node's sandbox service at addr is skipped by
// placement: "" when it answered, was not tried yet, or its backoff has
// passed (the next placement there tries it again).
func (r *Registry) unreachable(node, addr string) string {
	r.reach.mu.Lock()
	defer r.reach.mu.Unlock()
	st := r.reach.nodes[node]
	if addr == "" || st == nil || st.addr != addr || st.failures == 0 || !r.now().Before(st.until) {
		return ""
	}
	return st.reason
}

// needsProbe is whether a create placed on node must first check that
// its service at addr answers: a node whose service has not answered
// within two heartbeat intervals (WatchServices probes every one), or
// one past its backoff.
func (r *Registry) needsProbe(node, addr string) bool {
	r.reach.mu.Lock()
	defer r.reach.mu.Unlock()
	if r.reach.probe == nil || addr == "" {
		return false
	}
	st := r.reach.nodes[node]
	return st == nil || st.addr != addr || st.failures > 0 || r.now().Sub(st.okAt) > 2*r.HeartbeatInterval()
}

// probeNode checks node's service at addr and records the answer. A
// probe cut short by ctx records nothing: it says nothing of the node.
func (r *Registry) probeNode(ctx context.Context, node, addr string) error {
	r.reach.mu.Lock()
	probe := r.reach.probe
	r.reach.mu.Unlock()
	if probe == nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := probe(pctx, node, addr)
	cancel()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	r.recordProbe(node, addr, err)
	return err
}

// recordProbe keeps a probe's answer: an answer clears the node; a
// failure skips it for a backoff that doubles with each failure in a
// row, from one heartbeat interval up to maxReachBackoff. A failure
// while the node is skipped already changes nothing: calls failing
// together count once.
func (r *Registry) recordProbe(node, addr string, err error) {
	r.reach.mu.Lock()
	defer r.reach.mu.Unlock()
	if r.reach.nodes == nil {
		r.reach.nodes = map[string]*reachState{}
	}
	st := r.reach.nodes[node]
	if st == nil || st.addr != addr {
		st = &reachState{addr: addr}
		r.reach.nodes[node] = st
	}
	now := r.now()
	if err == nil {
		if st.failures > 0 {
			r.log.Info("node's sandbox service answers again", "node", node, "addr", addr)
		}
		st.okAt, st.failures, st.reason = now, 0, ""
		return
	}
	if st.failures > 0 && now.Before(st.until) {
		return
	}
	st.failures++
	st.until = now.Add(min(r.HeartbeatInterval()<<min(st.failures-1, 16), maxReachBackoff))
	st.reason = fmt.Sprintf("its sandbox service at %s (--advertise) does not answer: %v (%d failed tries in a row; next try after %s)",
		addr, err, st.failures, st.until.UTC().Format(time.RFC3339))
	r.log.Warn("node's sandbox service does not answer", "node", node, "addr", addr, "err", err, "failures", st.failures)
}

// forgetReach drops what is known of reaching node's service.
func (r *Registry) forgetReach(node string) {
	r.reach.mu.Lock()
	delete(r.reach.nodes, node)
	r.reach.mu.Unlock()
}

// ServiceFailed records that a call to node's sandbox service at addr
// did not reach it (the remote driver's report, remotedriver.Config's
// Unreachable): placement skips the node as after a failed probe, so
// that creates stop going there before the next probe round.
func (r *Registry) ServiceFailed(node, addr string, err error) {
	r.recordProbe(node, addr, err)
}

// withReach returns nodes with the unreachable ones marked; nodes is
// not modified.
func (r *Registry) withReach(nodes []scheduler.Node, addrs map[string]string) []scheduler.Node {
	var out []scheduler.Node
	for i := range nodes {
		why := r.unreachable(nodes[i].ID, addrs[nodes[i].ID])
		if why == nodes[i].Unreachable {
			continue
		}
		if out == nil {
			out = make([]scheduler.Node, len(nodes))
			copy(out, nodes)
		}
		out[i].Unreachable = why
	}
	if out == nil {
		return nodes
	}
	return out
}

// WatchServices probes the sandbox service of every ready joined node
// once per heartbeat interval until ctx ends, so that a node whose
// address does not answer is skipped before a create tries it, shows
// why in GET /nodes, and is taken again once it answers. A node in its
// backoff is not probed until the backoff passes.
func (r *Registry) WatchServices(ctx context.Context) {
	t := time.NewTicker(r.HeartbeatInterval())
	defer t.Stop()
	for {
		if err := r.ProbeServices(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("node service probes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeServices probes, all at once, the sandbox service of each ready
// joined node that serves one and is not in its backoff, and forgets
// the nodes no longer registered.
func (r *Registry) ProbeServices(ctx context.Context) error {
	ns, err := r.st.ListNodes(ctx)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(ns))
	var wg sync.WaitGroup
	for _, n := range ns {
		known[n.ID] = true
		addr := n.Report.ServiceAddress
		if n.Embedded || n.Status != store.NodeReady || addr == "" || r.unreachable(n.ID, addr) != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.probeNode(ctx, n.ID, addr)
		}()
	}
	wg.Wait()
	r.reach.mu.Lock()
	for id := range r.reach.nodes {
		if !known[id] {
			delete(r.reach.nodes, id)
		}
	}
	r.reach.mu.Unlock()
	return nil
}
