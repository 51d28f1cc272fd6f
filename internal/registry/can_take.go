package registry

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CanTake says whether joined node can take back a sandbox paused on
// it: nil when it is registered, ready, runs sandboxes and answers;
// otherwise an error saying why (ErrUnavailable), as placement sees it
// (the store read at most a second ago, this replica's reachability).
func (r *Registry) CanTake(ctx context.Context, node string) error {
	nodes, addrs, _, err := r.schedulerView(ctx)
	if err != nil {
		return err
	}
	nodes = r.withReach(nodes, addrs)
	for _, n := range nodes {
		if n.ID != node {
			continue
		}
		switch {
		case !n.Ready && n.Reason != "":
			return fmt.Errorf("node %s is %s (%s): %w", node, n.Status, n.Reason, errdefs.ErrUnavailable)
		case !n.Ready:
			return fmt.Errorf("node %s is %s: %w", node, n.Status, errdefs.ErrUnavailable)
		case !n.Runs:
			return fmt.Errorf("node %s no longer runs sandboxes: %w", node, errdefs.ErrUnavailable)
		case n.Unreachable != "":
			return fmt.Errorf("node %s cannot be reached: %s: %w", node, n.Unreachable, errdefs.ErrUnavailable)
		}
		return nil
	}
	return fmt.Errorf("node %s is no longer registered (deleted): %w", node, errdefs.ErrUnavailable)
}
