package oci

import (
	"sync"

	"golang.org/x/sys/unix"
)

// dialCache keeps, per sandbox, the network namespace its dials enter,
// so that a dial does not find it again (the state file, the pid file,
// /proc/<pid>/cgroup) each time. With each namespace it keeps a pidfd of
// the sandbox's pid 1 it was taken from: once that process has exited
// (killed, checkpointed for a pause, replaced by a restore) the entry is
// not used but dropped, and the dial looks the sandbox up again, finding
// it gone or its new process. A teardown drops the sandbox's entry at
// once, so that no namespace is held open past its sandbox.
//
// The zero value is ready to use.
type dialCache struct {
	mu sync.Mutex
	m  map[string]*dialNetns
}

// dialNetns is a sandbox's network namespace, held open by the cache and
// by each dial using it; the last of them to let go closes it.
type dialNetns struct {
	ns, pidfd int
	refs      int // guarded by dialCache.mu
}

// get returns id's namespace, held for the caller, or nil when none is
// kept or its process has exited.
func (c *dialCache) get(id string) *dialNetns {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[id]
	if e == nil {
		return nil
	}
	if exited(e.pidfd) {
		delete(c.m, id)
		c.releaseLocked(e)
		return nil
	}
	e.refs++
	return e
}

// put keeps namespace ns of id's pid 1 (pidfd), replacing what was kept
// for id, and returns it held for the caller. The cache owns both fds.
func (c *dialCache) put(id string, ns, pidfd int) *dialNetns {
	e := &dialNetns{ns: ns, pidfd: pidfd, refs: 2}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[id]; old != nil {
		c.releaseLocked(old)
	}
	if c.m == nil {
		c.m = map[string]*dialNetns{}
	}
	c.m[id] = e
	return e
}

// release lets go of e, got from get or put.
func (c *dialCache) release(e *dialNetns) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseLocked(e)
}

func (c *dialCache) releaseLocked(e *dialNetns) {
	e.refs--
	if e.refs == 0 {
		unix.Close(e.ns)
		unix.Close(e.pidfd)
	}
}

// forget drops what is kept for id; dials under way finish with it.
func (c *dialCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[id]; e != nil {
		delete(c.m, id)
		c.releaseLocked(e)
	}
}

// exited reports whether the process of pidfd has exited (a zombie
// included: its pid may be handed out again once reaped).
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}
