package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// forkOnNode forks running sandbox src of a joined node with its
// processes and memory, on that node: one clone checkpoint the node
// keeps (the source held still for it, then running on), then count
// sandboxes restored from it there, each recorded on the node first as
// a create is, and the checkpoint removed. The node's --max-sandboxes
// bounds them as it bounds creates. A sandbox restored before (a fork,
// a resumed one) is cloned as any other where the node's CRIU carries
// the patch in scripts/criu. A paused one, or one the node cannot clone
// (that patch missing), is refused: the embedded node forks those with
// their files, through a snapshot, which a joined node does not fork
// through yet.
// dropCloneTimeout bounds the removal of a fork's clone checkpoint on
// its node: a node that does not answer leaves it to its next start's
// sweep rather than holding the fork's answer.
const dropCloneTimeout = 30 * time.Second

func (m *Manager) forkOnNode(ctx context.Context, src store.Sandbox, count int, timeout time.Duration) ([]ForkResult, error) {
	ck, ok := m.driver.(runtime.CloneKeeper)
	if !ok {
		return nil, fmt.Errorf("sandbox %q runs on node %s, which cannot fork: %w", src.ID, src.Node, errdefs.ErrFailedPrecondition)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	net, err := m.resolveNetwork(networkRequestOf(src.Network))
	if err != nil {
		return nil, err
	}
	var name string
	err = func() error {
		// Under the source's operation lock: no pause, resume or kill
		// of it while it is saved.
		defer m.opLock(src.ID)()
		now, err := m.live(ctx, src.ID)
		if err != nil {
			return err
		}
		if now.State != store.StateRunning {
			return fmt.Errorf("sandbox %q on node %s is %s: a joined node's sandbox is forked while it runs (resume it first): %w", src.ID, src.Node, now.State, errdefs.ErrFailedPrecondition)
		}
		done := m.transit(src.ID)
		defer done()
		actx, cancel := nodeAct(ctx)
		defer cancel()
		name, err = ck.KeepClone(actx, src.ID)
		if errdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("sandbox %q on node %s cannot be forked with its memory, and a joined node cannot fork its files yet: %w", src.ID, src.Node, err)
		}
		return err
	}()
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropCloneTimeout)
		defer cancel()
		if err := ck.DropClone(dctx, src.ID, name); err != nil {
			m.log.Warn("remove a fork's clone checkpoint on its node (the node sweeps it at its next start)", logx.Sandbox(src.ID), logx.Err(err))
		}
	}()
	out := make([]ForkResult, count)
	eachFork(count, func(i int) {
		out[i].Sandbox, out[i].Err = m.restoreClone(ctx, src, timeout, net, func(spec runtime.Spec) error {
			return ck.RestoreKeptClone(ctx, spec, name)
		})
	})
	return out, nil
}
