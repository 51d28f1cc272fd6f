package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// Pause freezes a running sandbox in memory (its processes stop; its
// memory stays). Pausing to disk is not done yet: a paused sandbox lives
// as long as the server's host and counts against the team's quota.
//
// The pause is recorded before the runtime acts, as every state change:
// a crash in between leaves the record ahead of the runtime, and the next
// start's reconciliation completes the pause. A runtime that refuses puts
// the record back, with an event saying why.
func (m *Manager) Pause(ctx context.Context, id string) error {
	sb, err := m.live(ctx, id)
	if err != nil {
		return err
	}
	if sb.State == store.StatePaused {
		return fmt.Errorf("sandbox %q is already paused: %w", id, errdefs.ErrAlreadyExists)
	}
	if err := m.store.SetState(ctx, id, []store.SandboxState{store.StateRunning}, store.StatePaused,
		store.Event{Type: store.EventPaused}); err != nil {
		if errdefs.IsFailedPrecondition(err) { // paused or ended meanwhile
			return fmt.Errorf("sandbox %q is no longer running: %w", id, errdefs.ErrFailedPrecondition)
		}
		return err
	}
	if err := m.driver.Pause(ctx, id); err != nil {
		m.undo(ctx, id, store.StatePaused, store.StateRunning, store.EventResumed, "pause failed: "+err.Error())
		return fmt.Errorf("pause sandbox %q: %w", id, err)
	}
	return nil
}

// undo puts back a state recorded for an act the runtime then refused.
func (m *Manager) undo(ctx context.Context, id string, from, to store.SandboxState, event, msg string) {
	if err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{from}, to,
		store.Event{Type: event, Message: msg}); err != nil {
		// Reconciliation on the next start makes runtime and record agree.
		m.log.Error("record failed state change", logx.Sandbox(id), logx.Err(err))
	}
}

// Connect resumes a paused sandbox, or finds a running one, and makes it
// live at least timeout from now. resumed reports which it was.
func (m *Manager) Connect(ctx context.Context, id string, timeout time.Duration) (sb store.Sandbox, resumed bool, err error) {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 || timeout > m.maxTime {
		return sb, false, fmt.Errorf("timeout %v: use 1 s to %v: %w", timeout, m.maxTime, errdefs.ErrInvalidArgument)
	}
	sb, err = m.live(ctx, id)
	if err != nil {
		return sb, false, err
	}
	if sb.State == store.StatePaused {
		// Recorded first, as Pause.
		if err := m.store.SetState(ctx, id, []store.SandboxState{store.StatePaused}, store.StateRunning,
			store.Event{Type: store.EventResumed}); err != nil {
			return sb, false, err
		}
		if err := m.driver.Resume(ctx, id); err != nil {
			m.undo(ctx, id, store.StateRunning, store.StatePaused, store.EventPaused, "resume failed: "+err.Error())
			return sb, false, fmt.Errorf("resume sandbox %q: %w", id, err)
		}
		resumed = true
	}
	// Connecting never shortens a sandbox's life.
	if at := time.Now().Add(timeout); at.After(sb.EndAt) {
		if err := m.store.SetEndAt(ctx, id, at.UTC()); err != nil {
			return sb, resumed, err
		}
		m.schedule(id, at)
	}
	sb, err = m.store.GetSandbox(ctx, id)
	return sb, resumed, err
}

// live returns a sandbox that is running or paused; others are not found.
func (m *Manager) live(ctx context.Context, id string) (store.Sandbox, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return sb, err
	}
	if sb.State != store.StateRunning && sb.State != store.StatePaused {
		return sb, fmt.Errorf("sandbox %q is %s: %w", id, sb.State, errdefs.ErrNotFound)
	}
	return sb, nil
}
