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

// Get returns a sandbox's record.
func (m *Manager) Get(ctx context.Context, id string) (store.Sandbox, error) {
	return m.store.GetSandbox(ctx, id)
}

// Kill ends a live sandbox with reason and destroys it, after any pause
// or resume of it under way. The end is recorded first: if the server dies before the destroy, the next start
// finds the sandbox ended in the store and destroys it as an orphan.
func (m *Manager) Kill(ctx context.Context, id string, reason store.EndReason, message string) error {
	return m.killIf(ctx, id, reason, message, nil)
}

// killIf is Kill, done only if still, given the sandbox's record once
// any pause or resume of it has finished, says the reason still holds;
// otherwise it does nothing and returns nil. A monitor that judged a
// sandbox from a record read before a pause must not end it for the
// pause's having stopped its processes.
func (m *Manager) killIf(ctx context.Context, id string, reason store.EndReason, message string, still func(store.Sandbox) bool) error {
	// A pause or resume under way finishes first: its checkpoint or
	// restore must not run on a sandbox being destroyed.
	defer m.opLock(id)()
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return err
	}
	if sb.State == store.StateEnded {
		return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	if still != nil && !still(sb) {
		return nil
	}
	if err := m.store.EndSandbox(ctx, id, reason, message, time.Now()); err != nil {
		if errdefs.IsFailedPrecondition(err) { // ended meanwhile
			return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
		}
		return err
	}
	m.unschedule(id)
	m.endSeries(id)
	m.resetProbe(id)
	m.settledUnclear(id)
	if err := m.destroy(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		// Recorded as ended; the next reconciliation destroys the rest.
		m.log.Error("destroy ended sandbox", logx.Sandbox(id), logx.Err(err))
	}
	m.log.Info("sandbox ended", logx.Sandbox(id), "reason", string(reason))
	return nil
}

// destroy releases a sandbox the control plane is done with. It outlives
// the caller's cancellation (what remains must go) but not a hung
// runtime: what a failed destroy leaves, the next start's reconciliation
// destroys.
func (m *Manager) destroy(ctx context.Context, id string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), destroyDeadline)
	defer cancel()
	m.stopUpload(id)
	m.removeCheckpoint(id)
	err := m.driver.Destroy(dctx, id)
	// Its blob goes in the background: object storage never holds up
	// the end of a sandbox.
	m.dropCheckpointObject(dctx, id)
	return err
}

// List returns the sandboxes a filter selects, in creation order.
func (m *Manager) List(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error) {
	return m.store.ListSandboxes(ctx, f)
}

// Events returns a sandbox's lifecycle events in order.
func (m *Manager) Events(ctx context.Context, id string) ([]store.Event, error) {
	return m.store.ListEvents(ctx, id)
}

// AgentLog returns the tail of the sandbox's agent log, when the runtime
// keeps one; nil otherwise.
func (m *Manager) AgentLog(ctx context.Context, id string) []byte {
	lr, ok := m.driver.(runtime.LogReader)
	if !ok {
		return nil
	}
	b, err := lr.Logs(ctx, id, 256<<10)
	if err != nil {
		return nil
	}
	return b
}
