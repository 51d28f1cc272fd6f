// Package reaper makes the agent a proper init for its sandbox: as pid 1
// of the sandbox's pid namespace it inherits every orphaned process, and
// it must wait for them or they stay zombies forever, holding pids against
// the sandbox's pid limit.
package reaper

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// Reaped is one process the reaper waited for.
type Reaped struct {
	Pid    int
	Status unix.WaitStatus
}

// Run reaps every child that exits until ctx is done. Each reaped process
// is reported on notify if it is not nil (without blocking the reaper).
//
// A process the agent itself started and waits for through os/exec may be
// reaped here first; the agent's process service must take exit statuses
// from notify rather than from its own wait4 for that reason.
func Run(ctx context.Context, notify chan<- Reaped) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)
	for {
		reapAll(notify)
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		}
	}
}

// reapAll waits for every exited child without blocking. SIGCHLD is not
// queued, so one signal may stand for many exits.
func reapAll(notify chan<- Reaped) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if notify != nil {
			select {
			case notify <- Reaped{Pid: pid, Status: ws}:
			default:
			}
		}
	}
}
