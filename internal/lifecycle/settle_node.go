package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// settleOnNode settles sandbox sb, of a joined node, found pausing or
// resuming under its operation lock: the control plane that began the
// step stopped before recording its end. Reconciliation at start
// settles the embedded node's such sandboxes; a joined node's are
// settled here, on their next pause, resume or connect, by what the
// node holds, with the same rules and an event saying why:
//
// Pausing: stopped with a complete checkpoint kept is paused with its
// memory; running or frozen runs on (the pause never took); stopped
// without one is paused with its filesystem only. Resuming: running has
// resumed; anything else is paused again.
//
// A step begun since this process started is left to the next start,
// as on the embedded node (its end could not be recorded), unless the
// node's answer to it was unclear (settleUnclear), or this process holds
// the store's lease on the sandbox's steps (holdStep): then no control
// plane has one under way, and the step was cut short. A node that does
// not answer is its error (unavailable). It returns the sandbox as
// settled.
func (m *Manager) settleOnNode(ctx context.Context, sb store.Sandbox) (store.Sandbox, error) {
	if sb.Node == "" || (sb.State != store.StatePausing && sb.State != store.StateResuming) || m.isInTransit(sb.ID) {
		return sb, unsettled(sb)
	}
	if at, ok := m.stepBegan(ctx, sb); !m.leftUnclear(sb.ID) && !m.holdsStep(sb.ID) && (!ok || !at.Before(m.began)) {
		return sb, unsettled(sb)
	}
	if keeper, ok := m.driver.(runtime.CheckpointKeeper); ok && sb.State == store.StatePausing {
		// A dump still under way (its caller cut off) has the sandbox
		// frozen, which is no pause that never took: the node says
		// so, and the sandbox is settled once the dump has ended.
		if _, _, err := keeper.KeptCheckpoint(ctx, sb.ID); err != nil {
			return sb, fmt.Errorf("sandbox %q was left %s; its node must answer to settle it: %w", sb.ID, sb.State, err)
		}
	}
	info, err := m.driver.Info(ctx, sb.ID)
	if err != nil {
		return sb, fmt.Errorf("sandbox %q was left %s; its node must answer to settle it: %w", sb.ID, sb.State, err)
	}
	var to store.SandboxState
	var ev store.Event
	switch status := info.Status; {
	case sb.State == store.StatePausing && status == runtime.StatusStopped && m.hasCheckpoint(ctx, sb):
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: "the pause was cut short (its control plane stopped, or its node's answer was lost), after its checkpoint on the node completed: paused with its memory"}
	case sb.State == store.StatePausing && (status == runtime.StatusRunning || status == runtime.StatusPaused):
		to, ev = store.StateRunning, store.Event{Type: store.EventResumed,
			Message: fmt.Sprintf("the pause was cut short (its control plane stopped, or its node's answer was lost), before it took (the node has it %s): running on", status)}
	case sb.State == store.StatePausing:
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: "the pause was cut short (its control plane stopped, or its node's answer was lost), after its processes stopped and before a checkpoint was complete: paused with its filesystem only, resume boots it again"}
	case status == runtime.StatusRunning:
		to, ev = store.StateRunning, store.Event{Type: store.EventResumed,
			Message: "the resume was cut short (its control plane stopped, or its node's answer was lost), after the node had it running: resumed"}
	default:
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: fmt.Sprintf("the resume was cut short (its control plane stopped, or its node's answer was lost), before it completed (the node has it %s): paused again", status)}
	}
	if err := m.store.SetState(ctx, sb.ID, []store.SandboxState{sb.State}, to, ev); err != nil {
		return sb, fmt.Errorf("settle sandbox %q left %s: %w", sb.ID, sb.State, err)
	}
	m.settledUnclear(sb.ID)
	m.log.Warn("a pause or resume on a joined node was cut short; settled", logx.Sandbox(sb.ID),
		"was", string(sb.State), "state", string(to), "status", string(info.Status))
	if sb, err = m.store.GetSandbox(ctx, sb.ID); err != nil {
		return sb, err
	}
	if sb.State == store.StateRunning {
		m.schedule(sb.ID, sb.EndAt)
	}
	return sb, nil
}

// stepBegan is when sandbox sb's pause or resume under way was recorded:
// the time of its last pausing or resuming event.
func (m *Manager) stepBegan(ctx context.Context, sb store.Sandbox) (at time.Time, ok bool) {
	evs, err := m.store.ListEvents(ctx, sb.ID)
	if err != nil {
		return at, false
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if t := evs[i].Type; t == store.EventPausing || t == store.EventResuming {
			return evs[i].Time, true
		}
	}
	return at, false
}
