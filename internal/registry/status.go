package registry

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// SetStatus is an admin's status change (E2B's POST /nodes/{nodeID}):
// ready or draining. A draining node gets no new sandboxes. An unhealthy
// node cannot be readied: it becomes ready when its heartbeats resume.
func (r *Registry) SetStatus(ctx context.Context, id string, to store.NodeStatus) error {
	if to != store.NodeReady && to != store.NodeDraining {
		return fmt.Errorf("status %q: an admin sets ready or draining: %w", to, errdefs.ErrInvalidArgument)
	}
	n, err := r.st.GetNode(ctx, id)
	if err != nil {
		return err
	}
	// A drain the node made itself (its shutdown) becomes the admin's,
	// which its next start does not undo.
	if n.Status == to && (to == store.NodeReady || n.StatusBy == store.ByAdmin) {
		return nil
	}
	if n.Status == store.NodeUnhealthy && to == store.NodeReady {
		return fmt.Errorf("node %q is unhealthy (%s): it becomes ready when its heartbeats resume: %w", id, n.StatusReason, errdefs.ErrFailedPrecondition)
	}
	reason := ""
	if to == store.NodeDraining {
		reason = "drained by an admin"
	}
	defer r.invalidate()
	return r.st.SetNodeStatus(ctx, id, []store.NodeStatus{n.Status}, to, store.ByAdmin, reason, r.now())
}
