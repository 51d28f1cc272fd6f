package nodelease

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// expire loses the live sandboxes recorded on node, silent since last.
func (k *Keeper) expire(ctx context.Context, node string, last time.Time, live []store.Sandbox) error {
	msg := fmt.Sprintf("node %s silent since %s (lease %s)", node, last.UTC().Format(time.RFC3339), k.cfg.Lease)
	for _, sb := range live {
		err := k.cfg.Lose(ctx, sb.ID, msg)
		if errdefs.IsNotFound(err) {
			continue // ended meanwhile
		}
		if err != nil {
			return fmt.Errorf("sandbox %q on node %s: %w", sb.ID, node, err)
		}
		k.cfg.Log.Warn("sandbox lost with its node", "sandbox", sb.ID, "node", node, "silent_since", last.UTC())
	}
	return nil
}
