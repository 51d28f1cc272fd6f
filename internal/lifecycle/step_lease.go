package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// stepName is the store leadership a pause or resume of sandbox id on a
// joined node holds for its length (Config.Steps).
func stepName(id string) string { return "step/" + id }

// holdStep takes the store's lease on sandbox sb's pause or resume, so
// that no other control plane on the store starts one or settles this
// one meanwhile, and so that the leader can tell a step whose holder
// died (the store frees the lease of a process that dies) from one
// under way. It holds nothing for the embedded node's sandboxes, or
// without Config.Steps (one control plane on its store: the operation
// lock is enough). A lease held elsewhere is ErrFailedPrecondition.
func (m *Manager) holdStep(ctx context.Context, sb store.Sandbox) (release func(), err error) {
	if m.steps == nil || sb.Node == "" {
		return func() {}, nil
	}
	lease, err := m.steps.TryLead(ctx, stepName(sb.ID))
	if errdefs.IsFailedPrecondition(err) {
		return nil, fmt.Errorf("sandbox %q: another control plane has a pause or resume of it under way: try again once it ends: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: hold its pause or resume: %w", sb.ID, err)
	}
	m.mu.Lock()
	m.stepsHeld[sb.ID]++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		if m.stepsHeld[sb.ID]--; m.stepsHeld[sb.ID] <= 0 {
			delete(m.stepsHeld, sb.ID)
		}
		m.mu.Unlock()
		if err := lease.Release(); err != nil {
			m.log.Warn("release a pause or resume's lease", logx.Sandbox(sb.ID), logx.Err(err))
		}
	}, nil
}

// holdsStep reports whether this process holds the store's lease on
// sandbox id's pause or resume: no other control plane has one under
// way, so one found recorded was cut short.
func (m *Manager) holdsStep(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stepsHeld[id] > 0
}

// settleLeft settles the pauses and resumes of joined nodes' sandboxes
// that were cut short and that nobody holds, by what their node holds
// (settleOnNode), without waiting for the sandbox's next pause, resume
// or connect: the process doing the background work (the leading
// replica) runs it each monitor pass. A step under way elsewhere (its
// lease held) or here is left alone, as is one whose node does not
// answer (the next pass tries again).
func (m *Manager) settleLeft(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, sampleDeadline)
	left, err := m.store.ListSandboxes(lctx, store.SandboxFilter{States: []store.SandboxState{store.StatePausing, store.StateResuming}})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("list the pauses and resumes under way", logx.Err(err))
		}
		return
	}
	for _, sb := range left {
		if ctx.Err() != nil {
			return
		}
		if sb.Node == "" || m.isInTransit(sb.ID) {
			continue // the embedded node's are reconciled at start
		}
		sctx, cancel := context.WithTimeout(ctx, sampleDeadline)
		m.settleLeftOne(sctx, sb.ID)
		cancel()
	}
}

func (m *Manager) settleLeftOne(ctx context.Context, id string) {
	unlock, ok := m.tryOpLock(id)
	if !ok {
		return // this process is at it
	}
	defer unlock()
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil || (sb.State != store.StatePausing && sb.State != store.StateResuming) {
		return
	}
	release, err := m.holdStep(ctx, sb)
	if err != nil {
		return // under way on another control plane
	}
	defer release()
	if sb, err = m.store.GetSandbox(ctx, id); err != nil || (sb.State != store.StatePausing && sb.State != store.StateResuming) {
		return // it ended before the lease was ours
	}
	if _, err := m.settleOnNode(ctx, sb); err != nil && ctx.Err() == nil {
		m.log.Debug("a pause or resume cut short is not settled yet", logx.Sandbox(id), logx.Err(err))
	}
}
