// Package reaper makes the agent a proper init for its sandbox: as pid 1
// of the sandbox's pid namespace it inherits every orphaned process, and
// it must wait for them or they stay zombies forever, holding pids against
// the sandbox's pid limit.
//
// The reaper is the only place in the agent that waits for children. A
// process the agent starts itself is registered with Start, and its exit
// status is delivered on the channel Start returns; os/exec's Wait must not
// be used for it, since the reaper may have collected it first.
package reaper

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// Reaper waits for every child of the agent.
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	// run, if set, runs every start.
	run func(start func()) error
}

// StartIn makes every later Start run its start through run, which calls
// it once, on a thread of its choosing, and returns when it has: the agent
// uses it to fork its children on a thread in the sandbox's user cgroup.
// A run that fails (without calling start) fails the Start. Call it
// before Run.
func (r *Reaper) StartIn(run func(start func()) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run = run
}

// New returns a reaper; call Run to start it.
func New() *Reaper {
	return &Reaper{waiters: map[int]chan unix.WaitStatus{}}
}

// Start runs start (which must start exactly one child and return its pid)
// and registers the child, so that its exit status reaches the returned
// channel even if the child exits at once. The reaper cannot collect the
// child between its birth and its registration: both happen under the
// lock the reaper takes to collect.
func (r *Reaper) Start(start func() (int, error)) (int, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pid int
	var err error
	if r.run != nil {
		if rerr := r.run(func() { pid, err = start() }); rerr != nil {
			return 0, nil, rerr
		}
	} else {
		pid, err = start()
	}
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	r.waiters[pid] = ch
	return pid, ch, nil
}

// Run reaps every child that exits until ctx is done.
func (r *Reaper) Run(ctx context.Context) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)
	for {
		// Checked first: a signal and the end can be ready at once, and
		// select picks either.
		if ctx.Err() != nil {
			return
		}
		r.reapAll()
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		}
	}
}

// reapAll waits for every exited child without blocking. SIGCHLD is not
// queued, so one signal may stand for many exits.
func (r *Reaper) reapAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
		}
	}
}
