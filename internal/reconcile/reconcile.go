// Package reconcile brings the store's record of sandboxes and the
// runtime's reality back into agreement after the server starts, the way
// a Kubernetes controller does after a restart: a sandbox the store calls
// live but the runtime has not running is ended with reason "lost" (never
// silently dropped); a pause or resume the store has under way (pausing,
// resuming) is settled by what the runtime and the checkpoint directory
// hold, with an event giving the reason; a paused or running one whose
// runtime state differs is paused or resumed as the store recorded (a
// crash came between the record and the act); a sandbox the runtime has
// but the store does not know, or knows as ended, is an orphan of a crash
// and is destroyed.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Report says what one reconciliation did.
type Report struct {
	Adopted   []string // live in the store and running or paused in the runtime
	Lost      []string // live in the store, gone or dead in the runtime: ended "lost"
	Orphans   []string // in the runtime only: destroyed
	Failed    []string // could not be reconciled; see the logs
	Duration  time.Duration
	StartedAt time.Time
}

// Run reconciles once the sandboxes of this host's runtime, the
// embedded node's: the store's sandboxes on joined nodes are left as
// they are. checkpoints is the directory of the checkpoints of
// sandboxes paused with their memory ("" for none). It fails only if the
// store or the runtime cannot be listed; a sandbox that cannot be
// reconciled is reported in Failed and logged, and the rest go on.
func Run(ctx context.Context, st store.Store, d runtime.Driver, log *slog.Logger, checkpoints string) (Report, error) {
	rep := Report{StartedAt: time.Now()}
	live, err := st.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates})
	if err != nil {
		return rep, fmt.Errorf("reconcile: list store: %w", err)
	}
	actual, err := d.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("reconcile: list runtime: %w", err)
	}
	byID := make(map[string]runtime.Info, len(actual))
	for _, info := range actual {
		byID[info.ID] = info
	}
	known := make(map[string]bool, len(live))

	for _, sb := range live {
		if sb.Node != "" {
			// It runs on a joined node, not in this runtime: that node
			// answers for it.
			continue
		}
		known[sb.ID] = true
		info, inRuntime := byID[sb.ID]
		if inRuntime && (sb.State == store.StatePausing || sb.State == store.StateResuming) {
			was := sb.State
			to, settled, err := settle(ctx, st, sb, info.Status, checkpoints)
			if err != nil {
				rep.Failed = append(rep.Failed, sb.ID)
				log.Error("settle a pause or resume cut short", logx.Sandbox(sb.ID), logx.Err(err))
				continue
			}
			if settled {
				sb.State = to // adopted below as what it is now
				log.Warn("a pause or resume was cut short; settled", logx.Sandbox(sb.ID),
					slog.String("was", string(was)), slog.String("state", string(to)), slog.String("status", string(info.Status)))
			}
		}
		if inRuntime && resumeCutShort(ctx, st, sb, info.Status) {
			// The resume was recorded, then the server stopped before
			// the runtime finished it: paused again, with the reason.
			if err := st.SetState(ctx, sb.ID, []store.SandboxState{store.StateRunning}, store.StatePaused, store.Event{
				Type: store.EventPaused, Message: "the resume was cut short by a server restart; paused again",
			}); err != nil {
				rep.Failed = append(rep.Failed, sb.ID)
				log.Error("reconcile a resume cut short", logx.Sandbox(sb.ID), logx.Err(err))
				continue
			}
			rep.Adopted = append(rep.Adopted, sb.ID)
			log.Warn("a resume was cut short; the sandbox is paused again", logx.Sandbox(sb.ID))
			continue
		}
		if inRuntime && adoptable(sb.State, info.Status) {
			if nr, ok := d.(runtime.NetworkRepairer); ok {
				if err := nr.RepairNetwork(ctx, sb.ID); err != nil {
					log.Error("repair the network of an adopted sandbox", logx.Sandbox(sb.ID), logx.Err(err))
				}
			}
			if err := syncState(ctx, st, d, sb, info.Status, log); err != nil {
				rep.Failed = append(rep.Failed, sb.ID)
				log.Error("reconcile sandbox state", logx.Sandbox(sb.ID), logx.Err(err))
				continue
			}
			rep.Adopted = append(rep.Adopted, sb.ID)
			log.Info("re-adopted sandbox", logx.Sandbox(sb.ID), slog.String("status", string(info.Status)))
			continue
		}
		why := fmt.Sprintf("not found in the runtime after a server restart (store said %s)", sb.State)
		if inRuntime {
			why = fmt.Sprintf("runtime reports it %s after a server restart (store said %s)", info.Status, sb.State)
		}
		if err := end(ctx, st, d, sb.ID, inRuntime, why); err != nil {
			rep.Failed = append(rep.Failed, sb.ID)
			log.Error("reconcile lost sandbox", logx.Sandbox(sb.ID), logx.Err(err))
			continue
		}
		rep.Lost = append(rep.Lost, sb.ID)
		log.Warn("sandbox lost", logx.Sandbox(sb.ID), slog.String("reason", why))
	}

	for _, info := range actual {
		if known[info.ID] {
			continue
		}
		// Destroy before anything could hand the id out again.
		if err := d.Destroy(ctx, info.ID); err != nil && !errdefs.IsNotFound(err) {
			rep.Failed = append(rep.Failed, info.ID)
			log.Error("destroy orphaned sandbox", logx.Sandbox(info.ID), logx.Err(err))
			continue
		}
		rep.Orphans = append(rep.Orphans, info.ID)
		log.Warn("destroyed orphaned sandbox", logx.Sandbox(info.ID), slog.String("status", string(info.Status)))
	}
	rep.Duration = time.Since(rep.StartedAt)
	return rep, nil
}

// adoptable reports whether a sandbox the store has in state can carry on
// with the runtime's status. A sandbox still starting when the server died
// never got its answer to the client; it is lost, not adopted.
func adoptable(state store.SandboxState, status runtime.Status) bool {
	switch state {
	case store.StateRunning:
		return status == runtime.StatusRunning || status == runtime.StatusPaused
	case store.StatePaused:
		// Stopped: paused to disk (with a checkpoint, or its filesystem
		// only, or a pause to disk cut short, which resumes from the
		// filesystem); created: a boot from the filesystem cut short.
		return status != ""
	default:
		return false
	}
}

// syncState makes the runtime follow the store's record. Pause and resume
// are recorded before the runtime acts, so a crash in between leaves the
// record ahead of the runtime: the act is completed here. If the runtime
// cannot do it, the record follows the runtime instead, with an event
// saying why.
func syncState(ctx context.Context, st store.Store, d runtime.Driver, sb store.Sandbox, status runtime.Status, log *slog.Logger) error {
	var act func(context.Context, string) error
	switch {
	case sb.State == store.StatePaused && status == runtime.StatusRunning:
		act = d.Pause
	case sb.State == store.StateRunning && status == runtime.StatusPaused:
		act = d.Resume
	default:
		return nil
	}
	err := act(ctx, sb.ID)
	if err == nil {
		log.Info("completed a recorded state change after a server restart", logx.Sandbox(sb.ID), slog.String("state", string(sb.State)))
		return nil
	}
	want, ev := store.StateRunning, store.EventResumed
	if status == runtime.StatusPaused {
		want, ev = store.StatePaused, store.EventPaused
	}
	log.Warn("could not complete a recorded state change; recording the runtime's", logx.Sandbox(sb.ID), logx.Err(err))
	return st.SetState(ctx, sb.ID, []store.SandboxState{sb.State}, want, store.Event{
		Type: ev, Message: fmt.Sprintf("runtime reported it %s after a server restart and could not be made %s: %v", status, sb.State, err),
	})
}

// end records the sandbox as lost first, so that the reason is durable
// even if the destroy after it fails, then releases what is left of it.
func end(ctx context.Context, st store.Store, d runtime.Driver, id string, inRuntime bool, why string) error {
	err := st.EndSandbox(ctx, id, store.ReasonLost, why, time.Now())
	if err != nil && !errors.Is(err, errdefs.ErrFailedPrecondition) {
		return err
	}
	if inRuntime {
		if err := d.Destroy(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// resumeCutShort reports whether sandbox sb, recorded running, was being
// resumed when the server stopped: its last event is the resume and the
// runtime has it stopped (not restored yet) or created (booted from its
// filesystem, not started yet).
func resumeCutShort(ctx context.Context, st store.Store, sb store.Sandbox, status runtime.Status) bool {
	if sb.State != store.StateRunning || (status != runtime.StatusStopped && status != runtime.StatusCreated) {
		return false
	}
	evs, err := st.ListEvents(ctx, sb.ID)
	return err == nil && len(evs) > 0 && evs[len(evs)-1].Type == store.EventResumed
}
