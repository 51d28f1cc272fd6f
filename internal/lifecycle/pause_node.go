package lifecycle

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/soulbox/soulbox/internal/diskusage"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// nodePause checks that the joined node of sandbox sb can pause it
// (with its memory or not) within the per-sandbox budget, and returns
// the runtime's act: a checkpoint the node keeps in its own data dir
// (runtime.CheckpointKeeper), or a stop that keeps its files. The node
// must answer first: one that is down is unavailable, and nothing is
// recorded.
//
// The server-wide paused budget (Config.PausedDiskMB) measures the
// embedded node's checkpoint directory, on the control plane's disk; a
// joined node's checkpoints are on its own disk, bounded there and by
// the per-sandbox budget through the sizes the node reports.
func (m *Manager) nodePause(ctx context.Context, sb store.Sandbox, memory bool) (act func() error, err error) {
	id := sb.ID
	keeper, canKeep := m.driver.(runtime.CheckpointKeeper)
	if memory && !canKeep {
		return nil, fmt.Errorf("sandbox %q runs on node %s, which cannot pause a sandbox with its memory; pause with memory false: %w", id, sb.Node, errdefs.ErrFailedPrecondition)
	}
	rc, canRecreate := m.driver.(runtime.Recreator)
	if !memory && !canRecreate {
		return nil, fmt.Errorf("sandbox %q runs on node %s, which cannot boot a sandbox again from its filesystem; pause with memory: %w", id, sb.Node, errdefs.ErrFailedPrecondition)
	}
	if _, err := m.driver.Info(ctx, id); err != nil {
		return nil, fmt.Errorf("pause sandbox %q: %w", id, err)
	}
	if err := m.checkSandboxBudget(ctx, sb, "pause", memory); err != nil {
		return nil, err
	}
	if memory {
		return func() error {
			actx, cancel := nodeAct(ctx)
			defer cancel()
			_, err := keeper.KeepCheckpoint(actx, id)
			return err
		}, nil
	}
	return func() error {
		actx, cancel := nodeAct(ctx)
		defer cancel()
		return m.stopKeepingFiles(actx, rc, id)
	}, nil
}

// nodeActTimeout bounds a joined node's checkpoint, restore or stop once
// asked for.
const nodeActTimeout = 10 * time.Minute

// nodeAct is the context of a call that changes a joined node's sandbox
// (a checkpoint, a restore, a stop, a clone): not cancelled with ctx, as
// a caller that goes away would not stop the node, which would carry on
// behind the record's back (a checkpoint taken, recorded running); only
// a node that never answers, after nodeActTimeout, cuts it short.
func nodeAct(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), nodeActTimeout)
}

// restoreOnNode restores a stopped sandbox of a joined node from the
// checkpoint its node keeps, if it keeps a complete one (which the node
// removes once the sandbox runs). restored is false when it keeps none:
// the sandbox was paused with its filesystem only, or its checkpoint
// never completed.
func (m *Manager) restoreOnNode(ctx context.Context, sb store.Sandbox) (restored bool, err error) {
	keeper, ok := m.driver.(runtime.CheckpointKeeper)
	if !ok {
		return false, nil
	}
	_, kept, err := keeper.KeptCheckpoint(ctx, sb.ID)
	if err != nil || !kept {
		return false, err
	}
	actx, cancel := nodeAct(ctx)
	defer cancel()
	return true, keeper.RestoreKept(actx, sb.ID)
}

// hasCheckpoint reports whether a complete checkpoint of sandbox sb is
// kept: in the server's checkpoint directory for the embedded node, by
// its node for a joined node's.
func (m *Manager) hasCheckpoint(ctx context.Context, sb store.Sandbox) bool {
	if sb.Node != "" {
		keeper, ok := m.driver.(runtime.CheckpointKeeper)
		if !ok {
			return false
		}
		_, kept, err := keeper.KeptCheckpoint(ctx, sb.ID)
		return err == nil && kept
	}
	if m.checkpoints == "" {
		return false
	}
	// The directory appears only once the checkpoint is complete.
	_, err := os.Stat(m.checkpointDir(sb.ID))
	return err == nil
}

// checkpointSize is the space sandbox sb's checkpoint takes, wherever
// it is kept; none is 0.
func (m *Manager) checkpointSize(ctx context.Context, sb store.Sandbox) (int64, error) {
	if sb.Node != "" {
		keeper, ok := m.driver.(runtime.CheckpointKeeper)
		if !ok {
			return 0, nil
		}
		size, _, err := keeper.KeptCheckpoint(ctx, sb.ID)
		return size, err
	}
	return diskusage.Of(m.checkpointDir(sb.ID))
}
