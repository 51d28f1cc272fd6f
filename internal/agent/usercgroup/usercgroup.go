// Package usercgroup starts the sandbox's processes in the cgroup the host
// made for them, apart from the agent. The host creates a child cgroup,
// "user", with pids and memory limits below the sandbox's (and in the cpu
// hierarchy, so that all user processes are one group there), and hands the
// agent open `tasks` files (cgroup v1) of the child and of the agent's own
// cgroup, named in SOULBOX_CGROUP_FDS as "user=3,4;home=5,6". To start a
// process the agent moves the starting thread into the child, forks there
// (a child process inherits the cgroup of the thread that forks it) and
// moves the thread back: no process of the sandbox ever runs outside the
// child, and the agent keeps room to fork and answer when the child is
// full (a fork bomb, a runaway allocation).
package usercgroup

import (
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

// Enter locks the calling goroutine to its thread and moves the thread
// into the user cgroup; processes it forks until leave start there. leave
// moves it back and unlocks it. If the move back fails, the thread stays
// locked, and the Go runtime ends it with its goroutine, so no thread of
// the agent lingers in the user cgroup.
func (m *Mover) Enter() (leave func(), err error) {
	goruntime.LockOSThread()
	tid := []byte(strconv.Itoa(unix.Gettid()))
	if err := writeAll(m.user, tid); err != nil {
		if writeAll(m.home, tid) == nil {
			goruntime.UnlockOSThread()
		}
		return nil, fmt.Errorf("enter the user cgroup: %w", err)
	}
	return func() {
		if writeAll(m.home, tid) == nil {
			goruntime.UnlockOSThread()
		}
	}, nil
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
