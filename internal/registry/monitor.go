package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Monitor marks unhealthy the nodes that miss heartbeats, every half
// heartbeat interval, until ctx ends. Several control-plane replicas may
// run it: each change is a compare-and-set on the node's status and its
// last heartbeat, so a node is marked once, and never right after a
// heartbeat the check did not see.
func (r *Registry) Monitor(ctx context.Context) {
	t := time.NewTicker(max(r.HeartbeatInterval()/2, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.CheckHeartbeats(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("node heartbeat check", "err", err)
			}
		}
	}
}

// CheckHeartbeats marks unhealthy, with the reason, each joined node
// that is ready (or draining by its own shutdown) and has not
// heartbeated for the timeout. A node an admin drained stays draining.
func (r *Registry) CheckHeartbeats(ctx context.Context) error {
	ns, err := r.st.ListNodes(ctx)
	if err != nil {
		return err
	}
	now := r.now()
	for _, n := range ns {
		if n.Embedded || n.Status == store.NodeUnhealthy || (n.Status == store.NodeDraining && n.StatusBy == store.ByAdmin) {
			continue
		}
		last := n.HeartbeatAt
		if last.IsZero() {
			last = n.JoinedAt
		}
		if now.Sub(last) <= r.timeout {
			continue
		}
		reason := fmt.Sprintf("no heartbeat since %s (timeout %s)", last.UTC().Format(time.RFC3339), r.timeout)
		// The compare-and-set is on the status and on the silence: a
		// heartbeat recorded since ListNodes keeps the node as it is.
		err := r.st.MarkNodeSilent(ctx, n.ID, []store.NodeStatus{n.Status}, now.Add(-r.timeout), reason, now)
		if errdefs.IsFailedPrecondition(err) || errdefs.IsNotFound(err) {
			continue // it moved meanwhile (a heartbeat, another replica, a delete)
		}
		if err != nil {
			return err
		}
		r.log.Warn("node unhealthy", "node", n.ID, "reason", reason)
	}
	return nil
}
