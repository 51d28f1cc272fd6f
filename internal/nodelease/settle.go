package nodelease

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// settle destroys what node's runtime holds that the store does not
// record live on it. The runtime is listed before the store is read: a
// create records its sandbox in the store before the node is asked for
// it, so a sandbox being created now is either missing from the runtime's
// list or recorded already, never destroyed.
//
// A sandbox the store records resuming on another node is kept too: it
// may be moving here (lifecycle's moveAway has this node make it before
// the store records it here, and destroys it here itself if the move
// fails), and destroying it would lose a paused sandbox whose state is
// then deleted from object storage.
//
// A sandbox the store records live that the runtime no longer holds (its
// host restarted) is left to lifecycle's monitor, which ends it as lost
// ("gone from the runtime") at its next sample: judging it here, from a
// list read before the store, could end a sandbox created in between.
func (k *Keeper) settle(ctx context.Context, node string) error {
	rt, err := k.cfg.Runtime(ctx, node)
	if err != nil {
		return err
	}
	held, err := rt.List(ctx)
	if err != nil {
		return err
	}
	live, err := k.cfg.Store.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates})
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, sb := range on(live, node) {
		keep[sb.ID] = true
	}
	for _, sb := range live {
		if sb.State == store.StateResuming && sb.Node != "" {
			keep[sb.ID] = true
		}
	}
	for _, i := range held {
		// A template build's sandbox is in no store record: it ends
		// with its step, or, if the node stopped meanwhile, at the
		// node's next start.
		if keep[i.ID] || runtime.IsBuildSandbox(i.Template) {
			continue
		}
		// Claimed from the node's warm pool lately: the create that
		// claimed it records it once the claim answers, which may be
		// after the store was read.
		if !i.ClaimedAt.IsZero() {
			k.cfg.Log.Info("left a sandbox just claimed from the node's warm pool to its create", "sandbox", i.ID, "node", node)
			continue
		}
		if err := rt.Destroy(ctx, i.ID); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("destroy sandbox %q the store does not hold live on node %s: %w", i.ID, node, err)
		}
		k.cfg.Log.Warn("destroyed a sandbox the store does not hold live", "sandbox", i.ID, "node", node)
	}
	return nil
}
