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
// it gone or its new process. A teardown drops the sandbox's entry once
// its processes are dead, so that no namespace is held open past its
// sandbox; a dial that was finding the namespace meanwhile does not keep
// what it found (put).
//
// The zero value is ready to use.
type dialCache struct {
	mu sync.Mutex
	m  map[string]*dialNetns
	// lookups are the dials under way that found nothing kept and are
	// finding the namespace themselves.
	lookups map[*lookup]struct{}
	// found, when set (by tests), is called between a lookup's finding
	// the namespace and its put.
	found func(id string)
	// closed: the driver is closing; nothing is kept any more.
	closed bool
}

// lookup is a dial's own search for a sandbox's namespace, begun when
// nothing was kept for it. A forget of the sandbox while the search is
// under way (a teardown, which found nothing to drop yet) marks it, and
// put then does not keep what it found: the namespace and pidfd would
// otherwise stay open, owned by nobody, for the driver's life.
type lookup struct {
	id        string
	forgotten bool // guarded by dialCache.mu
}

// dialNetns is a sandbox's network namespace, held open by the cache and
// by each dial using it; the last of them to let go closes it.
type dialNetns struct {
	ns, pidfd int
	refs      int // guarded by dialCache.mu
}

// get returns id's namespace, held for the caller; or, when none is kept
// or its process has exited, nil and a lookup, which the caller ends with
// put or abandon.
func (c *dialCache) get(id string) (*dialNetns, *lookup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[id]; e != nil {
		if !exited(e.pidfd) {
			e.refs++
			return e, nil
		}
		delete(c.m, id)
		c.releaseLocked(e)
	}
	l := &lookup{id: id}
	if c.lookups == nil {
		c.lookups = map[*lookup]struct{}{}
	}
	c.lookups[l] = struct{}{}
	return nil, l
}

// put ends lookup l with namespace ns of its sandbox's pid 1 (pidfd) and
// returns it held for the caller. The cache owns both fds. It keeps them
// for the next dials, replacing what was kept, unless the sandbox was
// forgotten since l began or the process has exited already: then the
// caller's release closes them.
func (c *dialCache) put(l *lookup, ns, pidfd int) *dialNetns {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lookups, l)
	if l.forgotten || c.closed || exited(pidfd) {
		return &dialNetns{ns: ns, pidfd: pidfd, refs: 1}
	}
	e := &dialNetns{ns: ns, pidfd: pidfd, refs: 2}
	if old := c.m[l.id]; old != nil {
		c.releaseLocked(old)
	}
	if c.m == nil {
		c.m = map[string]*dialNetns{}
	}
	c.m[l.id] = e
	return e
}

// abandon ends lookup l, which found nothing.
func (c *dialCache) abandon(l *lookup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lookups, l)
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

// forget drops what is kept for id, and stops the lookups of id under
// way from keeping what they find; dials under way finish with it.
func (c *dialCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[id]; e != nil {
		delete(c.m, id)
		c.releaseLocked(e)
	}
	for l := range c.lookups {
		if l.id == id {
			l.forgotten = true
		}
	}
}

// close drops everything kept and keeps nothing after; dials under way
// finish with what they hold.
func (c *dialCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for id, e := range c.m {
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
