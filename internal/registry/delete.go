package registry

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Delete removes a joined node (SoulBox's DELETE /nodes/{nodeID}): its
// name and the fingerprint of its certificate are forgotten, so its
// certificate no longer heartbeats (the node exits, saying so) and the
// name may join again with a new token. The embedded node is refused,
// as is a node whose last heartbeat reported sandboxes (drain it and
// wait until it has none): ErrFailedPrecondition.
func (r *Registry) Delete(ctx context.Context, id string) error {
	if err := ValidNodeName(id); err != nil {
		return err
	}
	defer r.invalidate()
	err := r.st.DeleteNode(ctx, id, func(n store.Node) error {
		if n.Report.Sandboxes > 0 {
			return fmt.Errorf("node %q reported %d sandboxes in its last heartbeat: drain it (POST /nodes/%s) and delete it when it has none: %w",
				id, n.Report.Sandboxes, id, errdefs.ErrFailedPrecondition)
		}
		return nil
	})
	if err == nil {
		r.log.Info("node deleted", "node", id)
	}
	return err
}
