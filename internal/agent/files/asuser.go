package files

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/agent/users"
)

// errNoIdentity says the kernel did not let the agent take a user's file
// system identity (no CAP_SETUID, a user namespace without the user, a
// kernel without setfsuid).
var errNoIdentity = errors.New("cannot take the user's file system identity")

// openAs opens path for reading with the file permissions of u, so that a
// download fails where `cat path` run by u would: the kernel checks every
// directory on the way and the file itself, with u's uid, groups and ACLs.
//
// The agent is root; a thread of it takes u's file system uid and gid and
// groups (setfsuid(2), setfsgid(2), setgroups(2) apply to the calling
// thread only), opens the file and ends: the runtime never reuses a thread
// that exits locked, so no other goroutine runs with u's identity. The
// opened file is then read from any thread. When the agent is not root,
// or u is, the file is opened directly.
func openAs(u users.User, path string) (*os.File, error) {
	if os.Geteuid() != 0 || u.UID == 0 {
		return openFile(path)
	}
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Locked and never unlocked: the thread dies with the goroutine.
		runtime.LockOSThread()
		if err := takeIdentity(u); err != nil {
			done <- result{err: err}
			return
		}
		f, err := openFile(path)
		done <- result{f, err}
	}()
	res := <-done
	return res.f, res.err
}

// takeIdentity gives the calling thread u's file system identity.
func takeIdentity(u users.User) error {
	groups := make([]int, 0, len(u.Groups)+1)
	groups = append(groups, int(u.GID))
	for _, g := range u.Groups {
		if g != u.GID {
			groups = append(groups, int(g))
		}
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("%w: setgroups: %w", errNoIdentity, err)
	}
	// setfsuid and setfsgid report no failure: they return the previous
	// id, so a second call tells whether the first one took.
	if _, err := unix.SetfsgidRetGid(int(u.GID)); err != nil {
		return fmt.Errorf("%w: setfsgid: %w", errNoIdentity, err)
	}
	if cur, _ := unix.SetfsgidRetGid(int(u.GID)); cur != int(u.GID) {
		return fmt.Errorf("%w: setfsgid %d did not take", errNoIdentity, u.GID)
	}
	if _, err := unix.SetfsuidRetUid(int(u.UID)); err != nil {
		return fmt.Errorf("%w: setfsuid: %w", errNoIdentity, err)
	}
	if cur, _ := unix.SetfsuidRetUid(int(u.UID)); cur != int(u.UID) {
		return fmt.Errorf("%w: setfsuid %d did not take", errNoIdentity, u.UID)
	}
	return nil
}

// openFile opens path read-only without blocking on a FIFO or taking a
// terminal, and returns it in blocking mode.
func openFile(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
