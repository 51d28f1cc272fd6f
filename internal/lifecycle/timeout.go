package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// SetTimeout makes a live sandbox end timeout from now.
func (m *Manager) SetTimeout(ctx context.Context, id string, timeout time.Duration) error {
	if timeout <= 0 || timeout > m.maxTime {
		return fmt.Errorf("timeout %v: use 1 s to %v: %w", timeout, m.maxTime, errdefs.ErrInvalidArgument)
	}
	// No read first: SetEndAt checks the sandbox's state in its own
	// transaction (a missing one is not found, an ended one a failed
	// precondition), which is also the only check a concurrent end cannot
	// slip past.
	at := time.Now().Add(timeout).UTC()
	if err := m.store.SetEndAt(ctx, id, at); err != nil {
		if errdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
		}
		return err
	}
	m.schedule(id, at)
	return nil
}

// armed is a sandbox's armed timer and the end, as the store has it,
// it was armed for (a retry fires after it).
type armed struct {
	t   *time.Timer
	end time.Time
}

// schedule (re)arms the timer that ends sandbox id at at.
func (m *Manager) schedule(id string, at time.Time) { m.arm(id, at, at) }

// arm (re)arms sandbox id's timer to fire at fire, for its end at end.
// A replica that does not lead arms none: the leader reads the end from
// the store.
func (m *Manager) arm(id string, fire, end time.Time) {
	if fire.IsZero() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replica && !m.leading {
		return
	}
	if a, ok := m.timers[id]; ok {
		a.t.Stop()
	}
	m.timers[id] = armed{t: time.AfterFunc(time.Until(fire), func() { m.background(func() { m.expire(id, end) }) }), end: end}
}

func (m *Manager) unschedule(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.timers[id]; ok {
		a.t.Stop()
		delete(m.timers, id)
	}
}

// The timer's deadlines; variables so that tests can shorten them.
var (
	// expireDeadline bounds ending a timed-out sandbox, destroy included.
	expireDeadline = destroyDeadline + 30*time.Second
	// expireRetry is how long after an end that failed the timer tries
	// again.
	expireRetry = 15 * time.Second
)

// expire ends a sandbox whose time is up, unless its end was moved since
// the timer was armed. It has a deadline: a runtime that hangs cannot hold
// a timer (or Stop, which waits for it) for ever; the end is recorded
// before the destroy, and a destroy that fails is finished by the next
// start's reconciliation. An end that fails before it is recorded (the
// deadline passed while a long snapshot, fork or pause held the
// sandbox's lock, the store failed) is tried again after expireRetry: a
// sandbox past its end is never left running without a timer.
func (m *Manager) expire(id string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), expireDeadline)
	defer cancel()
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		if !errdefs.IsNotFound(err) {
			m.log.Error("end timed-out sandbox: read its record", logx.Sandbox(id), logx.Err(err))
			m.retryExpire(id, at)
		}
		return
	}
	if sb.State == store.StatePausing || sb.State == store.StateResuming {
		// Wait for the pause or resume under way, then judge by where
		// it left the sandbox: a pause that failed left it running, and
		// it times out now.
		m.opLock(id)()
		if sb, err = m.store.GetSandbox(ctx, id); err != nil {
			return
		}
	}
	if sb.State == store.StateEnded || sb.State == store.StatePaused || sb.State == store.StatePausing || sb.State == store.StateResuming {
		return // a paused sandbox does not time out
	}
	if sb.EndAt.After(at.Add(time.Millisecond)) {
		return // extended meanwhile; a newer timer is armed
	}
	if sb.Lifecycle.AutoPause && m.autoPause(ctx, sb) {
		return
	}
	if err := m.Kill(ctx, id, store.ReasonTimeout, "timed out at "+at.Format(time.RFC3339)); err != nil && !errdefs.IsNotFound(err) {
		m.log.Error("end timed-out sandbox; trying again", logx.Sandbox(id), logx.Err(err), "in", expireRetry)
		m.retryExpire(id, at)
	}
}

// retryExpire arms sandbox id's timer again, expireRetry from now, after
// an end at its timeout failed. A timeout set meanwhile re-arms it anyway;
// the retry finds a sandbox ended or paused meanwhile and leaves it.
func (m *Manager) retryExpire(id string, end time.Time) {
	m.arm(id, time.Now().Add(expireRetry), end)
}

// autoPause pauses a sandbox at its timeout (E2B's autoPause), with its
// memory unless it asked for its filesystem only. A sandbox the runtime
// cannot checkpoint (runc with a CRIU that lacks the patch in scripts/criu:
// one restored before), or whose checkpoint the
// paused disk budget cannot take, is paused with its filesystem only, which keeps its files: better than the kill the
// timeout would otherwise be. One whose files alone pass the per-sandbox
// budget (Config.SandboxStateDiskMB) is killed, as without auto-pause.
// Reports whether it is paused.
func (m *Manager) autoPause(ctx context.Context, sb store.Sandbox) bool {
	memory := !sb.Lifecycle.AutoPauseFilesystemOnly
	err := m.Pause(ctx, sb.ID, memory)
	if err != nil && memory && (errdefs.IsFailedPrecondition(err) || errors.Is(err, errdefs.ErrResourceExhausted)) {
		m.log.Warn("auto-pause with memory refused; pausing with the filesystem only", logx.Sandbox(sb.ID), logx.Err(err))
		err = m.Pause(ctx, sb.ID, false)
	}
	if err != nil {
		if now, gerr := m.store.GetSandbox(ctx, sb.ID); gerr == nil && now.State != store.StateRunning {
			return true // ended or paused meanwhile
		}
		m.log.Error("auto-pause at the timeout failed; killing", logx.Sandbox(sb.ID), logx.Err(err))
		return false
	}
	return true
}
