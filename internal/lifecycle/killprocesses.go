package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// killProcessesTimeout bounds KillProcesses: the kill forks nothing in
// the sandbox and ends as soon as the processes are gone, so this is only
// reached by processes the kernel cannot end.
const killProcessesTimeout = 30 * time.Second

// KillProcesses SIGKILLs every process of a running sandbox but its agent
// and returns once they are gone. It is the way back for a sandbox whose
// processes fill its limits (a fork bomb's orphans): the agent, kept
// apart from them, still answers but cannot start anything, and the host
// ends them without starting anything inside. The sandbox itself, its
// files and its timeout are untouched.
//
// Nothing does this on its own: a sandbox at its process limit may be
// doing what its user wants, and the agent's answer to a start it cannot
// make says to call this.
func (m *Manager) KillProcesses(ctx context.Context, id string) error {
	sb, err := m.live(ctx, id)
	if err != nil {
		return err
	}
	if sb.State != store.StateRunning {
		return fmt.Errorf("sandbox %q is %s: resume it to kill its processes: %w", id, sb.State, errdefs.ErrFailedPrecondition)
	}
	k, ok := m.driver.(runtime.UserKiller)
	if !ok {
		return fmt.Errorf("sandbox %q: its runtime cannot kill its processes apart from its agent: %w", id, errdefs.ErrFailedPrecondition)
	}
	ctx, cancel := context.WithTimeout(ctx, killProcessesTimeout)
	defer cancel()
	if err := k.KillUserProcesses(ctx, id); err != nil {
		return fmt.Errorf("kill the processes of sandbox %q: %w", id, err)
	}
	return nil
}
