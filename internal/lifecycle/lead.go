package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// Lead starts a replica's background work once it holds the store's
// leadership (Config.Replica): the timeout of every running sandbox,
// re-read from the store every RearmEvery, and the monitor. It runs
// until Unlead, Stop or ctx's end. Each timeout fires once however many
// replicas run: only the leader arms timers, and a sandbox's end is a
// state change in the store that succeeds once.
func (m *Manager) Lead(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case !m.replica:
		m.mu.Unlock()
		return fmt.Errorf("lead: this manager is not a replica's: %w", errdefs.ErrFailedPrecondition)
	case m.stopped:
		m.mu.Unlock()
		return fmt.Errorf("lead: the manager is stopped: %w", errdefs.ErrFailedPrecondition)
	case m.leading:
		m.mu.Unlock()
		return nil
	}
	m.leading = true
	leadCtx, cancel := context.WithCancel(ctx)
	m.stopLead = cancel
	m.bg.Add(2)
	m.mu.Unlock()
	m.rearm(leadCtx)
	go func() {
		defer m.bg.Done()
		m.monitor(leadCtx)
	}()
	go func() {
		defer m.bg.Done()
		t := time.NewTicker(m.rearmEvery)
		defer t.Stop()
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-t.C:
				m.rearm(leadCtx)
			}
		}
	}()
	return nil
}

// Unlead stops what Lead started, once the replica has lost (or given
// up) the leadership, and waits for the work under way (a timed-out
// sandbox being ended, a monitor pass), each with its deadline.
// Requests go on being served.
func (m *Manager) Unlead() {
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return
	}
	m.leading = false
	for id, a := range m.timers {
		a.t.Stop()
		delete(m.timers, id)
	}
	if m.stopLead != nil {
		m.stopLead()
		m.stopLead = nil
	}
	m.mu.Unlock()
	m.bg.Wait()
}

// rearm arms the timer of every running sandbox whose end in the store
// is not the one armed, and drops the timers of sandboxes no longer
// running: another replica may have set a timeout, killed or paused it.
func (m *Manager) rearm(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, sampleDeadline)
	running, err := m.store.ListSandboxes(lctx, store.SandboxFilter{States: []store.SandboxState{store.StateRunning}})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("re-read the timeouts of running sandboxes", logx.Err(err))
		}
		return
	}
	live := make(map[string]bool, len(running))
	for _, sb := range running {
		live[sb.ID] = true
		m.mu.Lock()
		a, ok := m.timers[sb.ID]
		m.mu.Unlock()
		if ok && sameEnd(a.end, sb.EndAt) {
			continue
		}
		m.schedule(sb.ID, sb.EndAt)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, a := range m.timers {
		if !live[id] {
			a.t.Stop()
			delete(m.timers, id)
		}
	}
}

// sameEnd: the store keeps times to the microsecond.
func sameEnd(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Millisecond && d > -time.Millisecond
}
