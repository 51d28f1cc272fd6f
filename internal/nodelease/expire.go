package nodelease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// expire loses the live sandboxes recorded on node, silent since last,
// but for the paused ones: a paused sandbox runs nothing the node's
// silence could have cost, and is checked when the node returns (the
// monitor ends it as lost if the node no longer holds it; resumed, it
// boots from its files if its checkpoint is gone).
func (k *Keeper) expire(ctx context.Context, node string, last time.Time, live []store.Sandbox) error {
	msg := fmt.Sprintf("node %s silent since %s (lease %s)", node, last.UTC().Format(time.RFC3339), k.cfg.Lease)
	var errs []error
	for _, sb := range live {
		if sb.State == store.StatePaused {
			continue
		}
		err := k.cfg.Lose(ctx, sb.ID, msg)
		if errdefs.IsNotFound(err) {
			continue // ended meanwhile
		}
		if err != nil {
			// The others are lost all the same; this one at the next check.
			errs = append(errs, fmt.Errorf("sandbox %q on node %s: %w", sb.ID, node, err))
			continue
		}
		k.cfg.Log.Warn("sandbox lost with its node", "sandbox", sb.ID, "node", node, "silent_since", last.UTC())
	}
	return errors.Join(errs...)
}
