package files

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

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
// thread only) and opens the file (see identityThread). The opened file is
// then read from any thread. When the agent is not root, or u is, the
// file is opened directly.
func openAs(u users.User, path string) (*os.File, error) {
	if os.Geteuid() != 0 || u.UID == 0 {
		return openFile(path)
	}
	key := identityKey(u)
	t := identities.take(key)
	if t == nil {
		var err error
		if t, err = startIdentityThread(u, key); err != nil {
			return nil, err
		}
	}
	done := make(chan openResult, 1)
	t.reqs <- openRequest{path: path, done: done}
	res := <-done
	if !identities.put(key, t) {
		// Over the cap of idle threads: the thread ends now.
		close(t.reqs)
	}
	return res.f, res.err
}

// identityIdle is how long a thread holding a user's identity waits for
// another open before it ends.
var identityIdle = 10 * time.Second

// maxIdlePerIdentity and maxIdle cap the identity threads kept idle, for
// one identity and for all. The agent runs in the sandbox's pids cgroup:
// a burst of concurrent downloads would otherwise leave one OS thread
// per download for identityIdle, and a sandbox out of threads cannot
// start a process. A thread over the cap ends after its open.
var (
	maxIdlePerIdentity = 4
	maxIdle            = 16
)

// identityThread is a goroutine locked to an OS thread that has taken one
// user's file system identity, and opens files for downloads as that
// user. Starting a thread and ending it for every download was most of
// the cost of reading a small file; a thread kept while downloads come
// costs them nothing. It is never unlocked: the runtime schedules no
// other goroutine on it, and ends the thread when the goroutine returns.
type identityThread struct {
	reqs chan openRequest
}

type openRequest struct {
	path string
	done chan<- openResult
}

type openResult struct {
	f   *os.File
	err error
}

// identityKey names an identity: what takeIdentity gives a thread.
func identityKey(u users.User) string {
	return fmt.Sprint(u.UID, u.GID, u.Groups)
}

// identityThreads are the idle identity threads, by identity.
type identityThreads struct {
	mu    sync.Mutex
	idle  map[string][]*identityThread
	total int // idle threads of all identities
}

var identities = &identityThreads{idle: map[string][]*identityThread{}}

// take removes an idle thread of key, or returns nil.
func (it *identityThreads) take(key string) *identityThread {
	it.mu.Lock()
	defer it.mu.Unlock()
	ts := it.idle[key]
	if len(ts) == 0 {
		return nil
	}
	t := ts[len(ts)-1]
	it.total--
	if len(ts) == 1 {
		delete(it.idle, key)
	} else {
		it.idle[key] = ts[:len(ts)-1]
	}
	return t
}

// put makes t idle again; false says the caps are reached and t is not
// kept.
func (it *identityThreads) put(key string, t *identityThread) bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.idle[key]) >= maxIdlePerIdentity || it.total >= maxIdle {
		return false
	}
	it.idle[key] = append(it.idle[key], t)
	it.total++
	return true
}

// retire removes t if it is idle; false says it was taken and a request
// is on its way to it.
func (it *identityThreads) retire(key string, t *identityThread) bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	ts := it.idle[key]
	i := slices.Index(ts, t)
	if i < 0 {
		return false
	}
	ts = slices.Delete(ts, i, i+1)
	it.total--
	if len(ts) == 0 {
		delete(it.idle, key)
	} else {
		it.idle[key] = ts
	}
	return true
}

// idleTotal is the number of idle threads of all identities.
func (it *identityThreads) idleTotal() int {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.total
}

// idleOf is the number of idle threads of u's identity.
func (it *identityThreads) idleOf(u users.User) int {
	it.mu.Lock()
	defer it.mu.Unlock()
	return len(it.idle[identityKey(u)])
}

// startIdentityThread starts a thread with u's identity, not yet idle.
func startIdentityThread(u users.User, key string) (*identityThread, error) {
	t := &identityThread{reqs: make(chan openRequest)}
	idleFor := identityIdle
	ready := make(chan error, 1)
	go func() {
		// Locked and never unlocked: the thread dies with the goroutine.
		runtime.LockOSThread()
		if err := takeIdentity(u); err != nil {
			ready <- err
			return
		}
		ready <- nil
		idle := time.NewTimer(idleFor)
		defer idle.Stop()
		for {
			select {
			case req, ok := <-t.reqs:
				if !ok {
					return // not kept: see identityThreads.put
				}
				f, err := openFile(req.path)
				req.done <- openResult{f, err}
				idle.Reset(idleFor)
			case <-idle.C:
				if identities.retire(key, t) {
					return
				}
				idle.Reset(idleFor)
			}
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return t, nil
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
