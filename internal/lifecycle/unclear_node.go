package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// refusedOnNode reports whether err, from a joined node asked to pause
// or resume a sandbox, is a definite refusal: the node answered that it
// did not act (the sandbox cannot be checkpointed, a budget, an unknown
// sandbox), so the record can go back. Anything else (the connection
// cut, the node killed mid-dump, a deadline, a failure the node could
// not classify) leaves unknown what the node did.
func refusedOnNode(err error) bool {
	for _, cat := range []error{errdefs.ErrFailedPrecondition, errdefs.ErrInvalidArgument, errdefs.ErrResourceExhausted, errdefs.ErrNotFound} {
		if errors.Is(err, cat) {
			return true
		}
	}
	return false
}

// settleUnclear is what a pause or resume of joined node sandbox id
// does when the node's answer leaves unclear what it did (err, not a
// refusal): the record stays pausing or resuming, as a control plane
// stopped mid-step would leave it (the monitor leaves such a sandbox
// alone, so nothing ends it for processes it no longer finds), and is
// settled by what the node holds, now if the node answers, else on its
// next pause, resume or connect. It returns the sandbox as settled, or
// an unavailable error saying the step is left for later. Call it
// outside the step's transit.
func (m *Manager) settleUnclear(ctx context.Context, id string, err error) (store.Sandbox, error) {
	m.mu.Lock()
	m.unclear[id] = true
	m.mu.Unlock()
	m.log.Warn("a joined node's pause or resume ended unclear; settling it by what the node holds", logx.Sandbox(id), logx.Err(err))
	sb, gerr := m.store.GetSandbox(context.WithoutCancel(ctx), id)
	if gerr != nil {
		return sb, fmt.Errorf("sandbox %q: %v, and its record could not be read: %w", id, err, gerr)
	}
	settled, serr := m.settleOnNode(context.WithoutCancel(ctx), sb)
	if serr != nil {
		return sb, fmt.Errorf("sandbox %q on node %s is left %s: its node's answer was unclear (%v) and it is settled by what the node holds on its next pause, resume or connect: %w",
			id, sb.Node, sb.State, err, errdefs.ErrUnavailable)
	}
	return settled, nil
}

// leftUnclear reports whether this process left sandbox id's step on
// its joined node unclear (see settleUnclear), so settleOnNode may
// settle it though this process began it.
func (m *Manager) leftUnclear(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unclear[id]
}

// settledUnclear forgets sandbox id's unclear step once settled, or
// once the sandbox has ended.
func (m *Manager) settledUnclear(id string) {
	m.mu.Lock()
	delete(m.unclear, id)
	m.mu.Unlock()
}
