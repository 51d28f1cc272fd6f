// Package usercgroup starts the sandbox's processes in the cgroup the host
// made for them, apart from the agent. The host creates a child cgroup,
// "user", with pids and memory limits below the sandbox's (and in the cpu
// hierarchy, so that all user processes are one group there), and hands the
// agent open `tasks` files (cgroup v1) of the child and of the agent's own
// cgroup, named in SOULBOX_CGROUP_FDS as "user=3,4;home=5,6". The agent
// forks every process from one thread it keeps in the child (a child
// process inherits the cgroup of the thread that forks it), the Starter:
// no process of the sandbox ever runs outside the child, and the agent's
// other threads keep room to answer when the child is full (a fork bomb,
// a runaway allocation).
//
// The thread moves once, not for every start: a move takes the kernel's
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
// period unless another move was moments ago, 6 to 15 ms on the project's
// test host after half a second without one. Moving in and out around
// each fork, as the agent did, put that on every command that followed a
// pause.
package usercgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Env is the variable the host names the files in.
const Env = "SOULBOX_CGROUP_FDS"

// Mover moves threads between the agent's cgroup and the user cgroup.
type Mover struct {
	user, home []int
}

// Parse reads the value of Env and takes ownership of the files it names.
// Every file the agent inherited (fd 3 and up) is made close-on-exec
// first, whatever the value holds, so no started process inherits the
// cgroup files even when the value is malformed.
func Parse(v string) (*Mover, error) {
	closeInheritedOnExec()
	m := &Mover{}
	for _, part := range strings.Split(v, ";") {
		name, list, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not name=fds", Env, part)
		}
		var fds []int
		for _, s := range strings.Split(list, ",") {
			fd, err := strconv.Atoi(s)
			if err != nil || fd < 3 {
				return nil, fmt.Errorf("%s: bad fd %q", Env, s)
			}
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				return nil, fmt.Errorf("%s: fd %d: %w", Env, fd, err)
			}
			fds = append(fds, fd)
		}
		switch name {
		case "user":
			m.user = fds
		case "home":
			m.home = fds
		default:
			return nil, fmt.Errorf("%s: unknown part %q", Env, name)
		}
	}
	if len(m.user) == 0 || len(m.user) != len(m.home) {
		return nil, fmt.Errorf("%s: %q needs as many user as home fds", Env, v)
	}
	return m, nil
}

// closeInheritedOnExec sets close-on-exec on every open fd from 3 up.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			unix.CloseOnExec(fd)
		}
	}
}

// Starter is a goroutine locked to an OS thread that stays in the user
// cgroup; Run calls functions on it. The Go runtime starts no other
// thread from a locked one (it uses a template thread), so the agent's
// other threads stay in its own cgroup.
type Starter struct {
	m    *Mover
	reqs chan startReq
}

type startReq struct {
	f    func()
	done chan error
}

// Starter starts the thread, which enters the user cgroup at once, ahead
// of the first start (a sandbox's first command would wait for the move).
func (m *Mover) Starter() *Starter {
	s := &Starter{m: m, reqs: make(chan startReq)}
	go s.loop()
	return s
}

// Run calls f on the starter's thread, in the user cgroup, and returns
// when f has returned; an error means the thread could not enter the
// cgroup and f was not called.
func (s *Starter) Run(f func()) error {
	done := make(chan error, 1)
	s.reqs <- startReq{f: f, done: done}
	return <-done
}

func (s *Starter) loop() {
	// Never unlocked: the thread lives as long as the agent.
	goruntime.LockOSThread()
	tid := []byte(strconv.Itoa(unix.Gettid()))
	var entered []byte // the thread's cgroups once it entered
	enter := func() error {
		entered = nil
		if err := writeAll(s.m.user, tid); err != nil {
			_ = writeAll(s.m.home, tid)
			return fmt.Errorf("enter the user cgroup: %w", err)
		}
		entered, _ = os.ReadFile("/proc/thread-self/cgroup")
		return nil
	}
	_ = enter() // a failure is told to the first start, which tries again
	for req := range s.reqs {
		// Checked before every start, for a few microseconds: a thread
		// found elsewhere (a restore that placed it with the rest of
		// the agent) enters again.
		now, err := os.ReadFile("/proc/thread-self/cgroup")
		if err != nil || entered == nil || !bytes.Equal(now, entered) {
			if err := enter(); err != nil {
				req.done <- err
				continue
			}
		}
		req.f()
		req.done <- nil
	}
}

func writeAll(fds []int, tid []byte) error {
	var errs []error
	for _, fd := range fds {
		if _, err := unix.Pwrite(fd, tid, 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
