package reconcile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// settle records where a pause or resume cut short by the server's stop
// left sandbox sb, which the runtime has with status, and returns the
// state it recorded: the step under way is settled by what the runtime
// and the checkpoint directory hold, with an event saying why.
//
// Pausing: a complete checkpoint with the processes gone is paused (with
// its memory); processes still running or frozen run on (the pause never
// took); processes gone without a complete checkpoint is paused with the
// filesystem only (resume boots it again from its writable layer).
// Resuming: running in the runtime has resumed; anything else is paused
// again, and the next resume wakes it as it would have.
//
// settled is false for a status that cannot carry on (the runtime has it
// in no state a sandbox lives in); the caller ends it as lost.
func settle(ctx context.Context, st store.Store, sb store.Sandbox, status runtime.Status, checkpoints string) (to store.SandboxState, settled bool, err error) {
	var ev store.Event
	switch {
	case sb.State == store.StatePausing && status == runtime.StatusStopped && checkpointComplete(checkpoints, sb.ID):
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: "the server stopped during the pause, after its checkpoint completed: paused with its memory"}
	case sb.State == store.StatePausing && (status == runtime.StatusRunning || status == runtime.StatusPaused):
		to, ev = store.StateRunning, store.Event{Type: store.EventResumed,
			Message: fmt.Sprintf("the server stopped during the pause, before it took (the runtime has it %s): running on", status)}
	case sb.State == store.StatePausing && (status == runtime.StatusStopped || status == runtime.StatusCreated):
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: "the server stopped during the pause, after its processes stopped and before a checkpoint was complete: paused with its filesystem only, resume boots it again"}
	case sb.State == store.StateResuming && status == runtime.StatusRunning:
		to, ev = store.StateRunning, store.Event{Type: store.EventResumed,
			Message: "the server stopped during the resume, after the runtime had it running: resumed"}
	case sb.State == store.StateResuming && (status == runtime.StatusPaused || status == runtime.StatusStopped || status == runtime.StatusCreated):
		to, ev = store.StatePaused, store.Event{Type: store.EventPaused,
			Message: fmt.Sprintf("the server stopped during the resume, before it completed (the runtime has it %s): paused again", status)}
	default:
		return sb.State, false, nil
	}
	if err := st.SetState(ctx, sb.ID, []store.SandboxState{sb.State}, to, ev); err != nil {
		return sb.State, false, fmt.Errorf("settle a %s sandbox: %w", sb.State, err)
	}
	return to, true, nil
}

// checkpointComplete reports whether sandbox id has a complete checkpoint
// under dir: the runtime writes it beside, as id.partial, and renames it
// into place only once it is synced whole.
func checkpointComplete(dir, id string) bool {
	if dir == "" {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, id))
	return err == nil && fi.IsDir()
}
