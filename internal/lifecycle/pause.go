package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// The messages of the paused event, which say how a sandbox was paused.
const (
	pausedMemory     = "paused to disk with its memory"
	pausedFilesystem = "paused with its filesystem only; resume boots it again"
)

// Pause pauses a running sandbox to disk. With memory, its processes,
// memory, open files and listening sockets are checkpointed under the
// server's checkpoint directory (a joined node's sandbox: under the
// node's own, see nodePause) and its cgroups (and the memory charged
// to them) released; resume restores the same processes, on the same
// node. Without, its
// processes are stopped and its writable layer kept; resume boots a
// fresh agent on it. Either way the sandbox keeps its id, address and
// files, no longer times out, and still counts against its team's
// sandbox limit.
//
// Each step is recorded before it is acknowledged: the sandbox is
// recorded pausing before the runtime acts and paused once its checkpoint
// (or stop) is complete, so a server that stops in between finds the
// pause under way on its next start, and reconciliation settles it by
// what the runtime and the checkpoint directory hold. A runtime that
// refuses puts the record back to running, with an event saying why, and
// the sandbox runs on. A joined node's answer that is no refusal (the
// connection cut, the node killed mid-dump) leaves unclear whether it
// stopped the sandbox: the record stays pausing and is settled by what
// the node holds (settleUnclear), never put back to running blind.
func (m *Manager) Pause(ctx context.Context, id string, memory bool) error {
	defer m.opLock(id)()
	sb, err := m.live(ctx, id)
	if err != nil {
		return err
	}
	release, err := m.holdStep(ctx, sb)
	if err != nil {
		return err
	}
	defer release()
	if m.holdsStep(id) { // read again: another control plane's step may have ended
		if sb, err = m.live(ctx, id); err != nil {
			return err
		}
	}
	if sb.State == store.StatePausing || sb.State == store.StateResuming {
		if sb, err = m.settleOnNode(ctx, sb); err != nil {
			return err
		}
	}
	if sb.State == store.StatePaused {
		return fmt.Errorf("sandbox %q is already paused: %w", id, errdefs.ErrAlreadyExists)
	}
	if sb.State != store.StateRunning {
		return unsettled(sb)
	}
	var act func() error
	if sb.Node != "" {
		// A joined node checkpoints into its own data dir.
		if act, err = m.nodePause(ctx, sb, memory); err != nil {
			return err
		}
	} else if act, err = m.localPause(ctx, sb, memory); err != nil {
		return err
	}
	if memory && sb.Node == "" {
		release, err := m.reserveCheckpoint(ctx, id)
		if err != nil {
			return err
		}
		defer release()
	}
	done := sync.OnceFunc(m.transit(id))
	defer done()
	msg := pausedFilesystem
	if memory {
		msg = pausedMemory
	}
	// A joined node's pause, with its memory or not, is uploaded for a
	// resume on another node (move_node.go).
	upload := (memory && sb.Node == "") || (sb.Node != "" && m.movable())
	if upload {
		if err := m.forgetCheckpointObject(ctx, id); err != nil {
			return err
		}
	}
	if err := m.store.SetState(ctx, id, []store.SandboxState{store.StateRunning}, store.StatePausing,
		store.Event{Type: store.EventPausing, Message: msg}); err != nil {
		if errdefs.IsFailedPrecondition(err) { // paused or ended meanwhile
			return fmt.Errorf("sandbox %q is no longer running: %w", id, errdefs.ErrFailedPrecondition)
		}
		return err
	}
	if err = act(); err != nil && sb.Node != "" && !refusedOnNode(err) {
		// The node may have stopped the sandbox: settled by what it
		// holds, never put back to running blind.
		done()
		now, serr := m.settleUnclear(ctx, id, err)
		if serr != nil {
			return serr
		}
		if now.State != store.StatePaused {
			return fmt.Errorf("pause sandbox %q (it runs on): %w", id, err)
		}
		m.unschedule(id)
		m.resetProbe(id)
		return nil
	}
	if err != nil {
		m.undo(ctx, id, store.StatePausing, store.StateRunning, store.EventResumed, "pause failed: "+err.Error())
		if errdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("sandbox %q cannot be paused with its memory (memory false keeps its files): %w", id, err)
		}
		return fmt.Errorf("pause sandbox %q: %w", id, err)
	}
	// The runtime has paused it: recorded even if the caller has gone.
	if err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{store.StatePausing}, store.StatePaused,
		store.Event{Type: store.EventPaused, Message: msg}); err != nil {
		// Left pausing; the next start's reconciliation finds the
		// complete checkpoint (or the stopped sandbox) and records it.
		return fmt.Errorf("record the pause of sandbox %q: %w", id, err)
	}
	m.unschedule(id)
	m.resetProbe(id)
	if upload {
		m.startUpload(id, sb.Node)
	}
	return nil
}

// localPause checks that the embedded node can pause sandbox sb (with
// its memory or not) within its budget, and returns the runtime's act:
// a checkpoint into the server's checkpoint directory, or a stop that
// keeps its files.
func (m *Manager) localPause(ctx context.Context, sb store.Sandbox, memory bool) (act func() error, err error) {
	id := sb.ID
	cp, canCheckpoint := m.driver.(runtime.Checkpointer)
	if memory && (!canCheckpoint || m.checkpoints == "") {
		return nil, fmt.Errorf("this server cannot pause a sandbox with its memory; pause with memory false: %w", errdefs.ErrFailedPrecondition)
	}
	rc, canRecreate := m.driver.(runtime.Recreator)
	if !memory && !canRecreate {
		return nil, fmt.Errorf("this server cannot boot a sandbox again from its filesystem; pause with memory: %w", errdefs.ErrFailedPrecondition)
	}
	if err := m.checkSandboxBudget(ctx, sb, "pause", memory); err != nil {
		return nil, err
	}
	if memory {
		if err := os.MkdirAll(m.checkpoints, 0o711); err != nil {
			return nil, fmt.Errorf("checkpoint directory: %w", err)
		}
		return func() error { return cp.Checkpoint(ctx, id, m.checkpointDir(id)) }, nil
	}
	return func() error { return m.stopKeepingFiles(ctx, rc, id) }, nil
}

// stopKeepingFiles stops sandbox id's processes and releases what it
// holds besides its files: a pause with its filesystem only.
func (m *Manager) stopKeepingFiles(ctx context.Context, rc runtime.Recreator, id string) error {
	if err := m.driver.Stop(ctx, id); err != nil {
		return err
	}
	// Its processes are gone: paused, whatever the release says.
	if err := rc.Release(ctx, id); err != nil {
		m.log.Warn("release a sandbox paused with its filesystem", logx.Sandbox(id), logx.Err(err))
	}
	return nil
}

// opLock serialises the pauses, resumes and kills of sandbox id: a
// connect that arrives while a pause is under way (recorded paused,
// checkpoint not complete) waits for it rather than resuming a sandbox
// the checkpoint is about to stop, and a kill waits for the pause or
// resume under way rather than destroying the sandbox beneath it. An
// entry lives only while someone holds or waits for it, however the
// sandbox ends.
func (m *Manager) opLock(id string) (unlock func()) {
	m.mu.Lock()
	l, ok := m.opLocks[id]
	if !ok {
		l = &opLock{}
		m.opLocks[id] = l
	}
	l.users++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.opLocks, id)
		}
		m.mu.Unlock()
	}
}

// tryOpLock takes sandbox id's operation lock if nobody holds it.
func (m *Manager) tryOpLock(id string) (unlock func(), ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, held := m.opLocks[id]; held {
		return nil, false
	}
	l := &opLock{users: 1}
	l.mu.Lock()
	m.opLocks[id] = l
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.opLocks, id)
		}
		m.mu.Unlock()
	}, true
}

// opLock is one sandbox's entry in Manager.opLocks.
type opLock struct {
	mu    sync.Mutex
	users int // holders and waiters; guarded by Manager.mu
}

// checkpointDir is where sandbox id's checkpoint lives while it is paused.
func (m *Manager) checkpointDir(id string) string { return filepath.Join(m.checkpoints, id) }

// transit marks sandbox id as changing state, so the monitor leaves it
// alone meanwhile (a sandbox being resumed is stopped in the runtime
// while the store already calls it running).
func (m *Manager) transit(id string) (done func()) {
	m.mu.Lock()
	m.inTransit[id]++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		if m.inTransit[id]--; m.inTransit[id] <= 0 {
			delete(m.inTransit, id)
		}
		m.mu.Unlock()
	}
}

func (m *Manager) isInTransit(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inTransit[id] > 0
}

// undo puts back a state recorded for an act the runtime then refused.
func (m *Manager) undo(ctx context.Context, id string, from, to store.SandboxState, event, msg string) {
	if err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{from}, to,
		store.Event{Type: event, Message: msg}); err != nil {
		// Reconciliation on the next start makes runtime and record agree.
		m.log.Error("record failed state change", logx.Sandbox(id), logx.Err(err))
	}
}

// Resume resumes a paused sandbox (see Connect); a running one is a
// conflict, as in E2B.
func (m *Manager) Resume(ctx context.Context, id string, timeout time.Duration) (store.Sandbox, error) {
	sb, err := m.live(ctx, id)
	if err != nil {
		return sb, err
	}
	if sb.State == store.StateRunning {
		return sb, fmt.Errorf("sandbox %q is already running: %w", id, errdefs.ErrFailedPrecondition)
	}
	sb, _, err = m.Connect(ctx, id, timeout)
	return sb, err
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
	defer m.opLock(id)()
	sb, err = m.live(ctx, id)
	if err != nil {
		return sb, false, err
	}
	if sb.State != store.StateRunning {
		release, err := m.holdStep(ctx, sb)
		if err != nil {
			return sb, false, err
		}
		defer release()
		if m.holdsStep(id) { // read again: another control plane's step may have ended
			if sb, err = m.live(ctx, id); err != nil {
				return sb, false, err
			}
		}
	}
	if sb.State == store.StatePausing || sb.State == store.StateResuming {
		if sb, err = m.settleOnNode(ctx, sb); err != nil {
			return sb, false, err
		}
	}
	if sb.State != store.StatePaused && sb.State != store.StateRunning {
		return sb, false, unsettled(sb)
	}
	if sb.State == store.StatePaused {
		m.stopUpload(id) // the checkpoint is about to be used
		// A checkpoint this disk lacks comes from object storage
		// first; one that cannot be had leaves the sandbox paused.
		// A joined node keeps its own, and must answer before anything
		// is recorded: one that is down leaves the sandbox as it was.
		if sb.Node == "" {
			if err := m.fetchCheckpoint(ctx, id); err != nil {
				return sb, false, err
			}
		} else if why, answers, err := m.nodeCannotTake(ctx, sb); err != nil {
			return sb, false, fmt.Errorf("resume sandbox %q: %w", id, err)
		} else if why != nil {
			// Resumed on another node if its paused state is in
			// object storage; else on its own if that answers (a
			// draining one); else it stays paused.
			done := m.transit(id)
			moved, err := m.moveAway(ctx, sb, why, answers)
			done()
			if err != nil {
				return sb, false, err
			}
			if moved {
				if sb, err = m.store.GetSandbox(ctx, id); err != nil {
					return sb, true, err
				}
				resumed = true
			}
		}
	}
	if sb.State == store.StatePaused && !resumed {
		done := sync.OnceFunc(m.transit(id))
		defer done()
		// Recorded resuming first, as Pause, and running once the
		// runtime has woken it.
		note := m.resumeNote(ctx, sb)
		if err := m.store.SetState(ctx, id, []store.SandboxState{store.StatePaused}, store.StateResuming,
			store.Event{Type: store.EventResuming, Message: note}); err != nil {
			return sb, false, err
		}
		if err := m.wake(ctx, sb); err != nil && sb.Node != "" && !refusedOnNode(err) {
			// The node may have restored it: settled by what it holds.
			done()
			now, serr := m.settleUnclear(ctx, id, err)
			if serr != nil {
				return sb, false, serr
			}
			if now.State != store.StateRunning {
				return sb, false, fmt.Errorf("resume sandbox %q (it stays paused): %w", id, err)
			}
		} else if err != nil {
			m.undo(ctx, id, store.StateResuming, store.StatePaused, store.EventPaused, "resume failed: "+err.Error())
			return sb, false, fmt.Errorf("resume sandbox %q: %w", id, err)
		} else if err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{store.StateResuming}, store.StateRunning,
			store.Event{Type: store.EventResumed, Message: note}); err != nil {
			// Left resuming; the next start's reconciliation finds it
			// running in the runtime and records it.
			return sb, false, fmt.Errorf("record the resume of sandbox %q: %w", id, err)
		}
		if sb.Node != "" {
			// Its uploaded paused state is of no more use.
			m.dropCheckpointObject(context.WithoutCancel(ctx), id)
		}
		m.reapplyPolicy(ctx, sb)
		resumed = true
	}
	// Connecting never shortens a sandbox's life; a resumed one lives
	// timeout from now.
	if at := time.Now().Add(timeout); resumed || at.After(sb.EndAt) {
		if err := m.store.SetEndAt(ctx, id, at.UTC()); err != nil {
			return sb, resumed, err
		}
		m.schedule(id, at)
	}
	sb, err = m.store.GetSandbox(ctx, id)
	return sb, resumed, err
}

// wake brings a paused sandbox back the way it was paused, which the
// runtime tells: frozen in memory (a pause completed by reconciliation)
// is thawed; stopped with a complete checkpoint is restored from it, and
// the checkpoint removed; stopped without one boots again from its
// filesystem with a fresh agent.
func (m *Manager) wake(ctx context.Context, sb store.Sandbox) error {
	info, err := m.driver.Info(ctx, sb.ID)
	if err != nil {
		return err
	}
	switch info.Status {
	case runtime.StatusCreated: // a boot from the filesystem cut short
		if nr, ok := m.driver.(runtime.NetworkRepairer); ok {
			if err := nr.RepairNetwork(ctx, sb.ID); err != nil {
				return err
			}
		}
		if err := m.driver.Start(ctx, sb.ID); err != nil {
			return err
		}
		return m.initBooted(ctx, sb)
	case runtime.StatusPaused:
		return m.driver.Resume(ctx, sb.ID)
	case runtime.StatusRunning:
		return nil
	}
	if sb.Node != "" {
		// A joined node restores from the checkpoint it keeps.
		if restored, err := m.restoreOnNode(ctx, sb); err != nil || restored {
			return err
		}
	} else if cp, ok := m.driver.(runtime.Checkpointer); ok && m.hasCheckpoint(ctx, sb) {
		dir := m.checkpointDir(sb.ID)
		if err := cp.Restore(ctx, sb.ID, dir); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("remove used checkpoint", logx.Sandbox(sb.ID), logx.Err(err))
		}
		m.dropCheckpointObject(context.WithoutCancel(ctx), sb.ID)
		return nil
	}
	rc, ok := m.driver.(runtime.Recreator)
	if !ok {
		return fmt.Errorf("this server cannot boot a sandbox again: %w", errdefs.ErrFailedPrecondition)
	}
	if err := rc.Recreate(ctx, sb.ID); err != nil {
		return err
	}
	if err := m.driver.Start(ctx, sb.ID); err != nil {
		return err
	}
	return m.initBooted(ctx, sb)
}

// removeCheckpoint deletes what a paused sandbox kept on disk for its
// resume, once it has ended.
func (m *Manager) removeCheckpoint(id string) {
	if m.checkpoints == "" {
		return
	}
	for _, p := range []string{m.checkpointDir(id), m.checkpointDir(id) + ".partial"} {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.Warn("remove checkpoint", logx.Sandbox(id), logx.Err(err))
		}
	}
}

// live returns a sandbox that is running or paused, or on its way
// between them; others are not found.
func (m *Manager) live(ctx context.Context, id string) (store.Sandbox, error) {
	sb, err := m.store.GetSandbox(ctx, id)
	if err != nil {
		return sb, err
	}
	switch sb.State {
	case store.StateRunning, store.StatePaused, store.StatePausing, store.StateResuming:
		return sb, nil
	}
	return sb, fmt.Errorf("sandbox %q is %s: %w", id, sb.State, errdefs.ErrNotFound)
}

// unsettled is the error for acting on a sandbox found, under its
// operation lock, still pausing or resuming: the step that should have
// settled it could not be recorded, and the next start's reconciliation
// settles it.
func unsettled(sb store.Sandbox) error {
	return fmt.Errorf("sandbox %q is %s and its last step could not be recorded; try again later: %w", sb.ID, sb.State, errdefs.ErrUnavailable)
}

// sweepCheckpoints removes the checkpoints no paused sandbox owns: those
// of sandboxes ended while the server was down, and pauses cut short.
func (m *Manager) sweepCheckpoints(live []store.Sandbox) {
	if m.checkpoints == "" {
		return
	}
	if err := os.MkdirAll(m.checkpoints, 0o711); err != nil {
		m.log.Error("make checkpoint directory", logx.Err(err))
		return
	}
	paused := map[string]bool{}
	for _, sb := range live {
		// A sandbox left pausing or resuming (its reconciliation
		// failed) may still need its checkpoint.
		if sb.State == store.StatePaused || sb.State == store.StatePausing || sb.State == store.StateResuming {
			paused[sb.ID] = true
		}
	}
	// Transfers cut short by the stop: none is under way yet.
	if err := os.RemoveAll(m.transferDir()); err != nil {
		m.log.Warn("remove checkpoint transfers cut short", logx.Err(err))
	}
	entries, err := os.ReadDir(m.checkpoints)
	if err != nil {
		m.log.Error("read checkpoint directory", logx.Err(err))
		return
	}
	for _, e := range entries {
		if !paused[e.Name()] {
			if err := os.RemoveAll(filepath.Join(m.checkpoints, e.Name())); err != nil {
				m.log.Warn("remove unowned checkpoint", "name", e.Name(), logx.Err(err))
			}
		}
	}
}

// resumeNote says, for the resumed event, when a sandbox paused with its
// memory is booted from its filesystem instead: its checkpoint never
// completed (the server stopped during the pause).
func (m *Manager) resumeNote(ctx context.Context, sb store.Sandbox) string {
	id := sb.ID
	evs, err := m.store.ListEvents(ctx, id)
	if err != nil || (m.checkpoints == "" && sb.Node == "") {
		return ""
	}
	for i := len(evs) - 1; i >= 0; i-- {
		// The pause's own event says how it was asked for; a paused
		// event of another message (a failed resume, a pause settled
		// by reconciliation) is passed over for the one before it.
		e := evs[i]
		if e.Type != store.EventPausing && e.Type != store.EventPaused {
			continue
		}
		if e.Type == store.EventPaused && e.Message != pausedMemory && e.Message != pausedFilesystem {
			continue
		}
		if e.Message != pausedMemory {
			return ""
		}
		info, err := m.driver.Info(ctx, id)
		if err != nil || info.Status != runtime.StatusStopped {
			return ""
		}
		if m.hasCheckpoint(ctx, sb) {
			return ""
		}
		return "its checkpoint never completed (the server stopped during the pause): booted again from its filesystem, its processes are gone"
	}
	return ""
}

// reapplyPolicy sets a resumed sandbox's recorded egress policy again: a
// network made anew on the way (its link lost to a crash) starts closed.
func (m *Manager) reapplyPolicy(ctx context.Context, sb store.Sandbox) {
	np, ok := m.driver.(runtime.NetworkPolicer)
	if !ok || sb.Node != "" { // a joined node keeps its own
		return
	}
	p, err := PolicyOf(sb.Network)
	if err == nil {
		err = np.SetNetworkPolicy(ctx, sb.ID, p)
	}
	if err != nil {
		m.log.Error("set the network policy of a resumed sandbox", logx.Sandbox(sb.ID), logx.Err(err))
	}
}
