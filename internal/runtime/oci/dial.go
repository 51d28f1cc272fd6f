package oci

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Dialer = (*Driver)(nil)

// DialContext connects to 127.0.0.1:port inside the sandbox's network
// namespace. The socket is created by a thread that enters the namespace
// for the duration of the dial, so the sandbox needs no address, route or
// veth reachable from the host: a sandbox stays a network island with only
// the connections the server opens into it.
func (d *Driver) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("port %d: use 1-65535: %w", port, errdefs.ErrInvalidArgument)
	}
	ns, err := d.dialNetns(id)
	if err != nil {
		return nil, err
	}
	defer d.dials.release(ns)
	conn, err := dialInNetns(ctx, ns.ns, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: dial port %d: %w", id, port, err)
	}
	return conn, nil
}

// dialNetns is the network namespace of the sandbox's pid 1, held for
// the caller: the one kept from an earlier dial while that process lives
// (dialcache.go), or else found as netns finds it and kept.
func (d *Driver) dialNetns(id string) (*dialNetns, error) {
	e, l := d.dials.get(id)
	if e != nil {
		return e, nil
	}
	ns, pidfd, err := d.netns(id)
	if err != nil {
		d.dials.abandon(l)
		return nil, err
	}
	if d.dials.found != nil {
		d.dials.found(id)
	}
	return d.dials.put(l, ns, pidfd), nil
}

// netns opens the network namespace of the sandbox's pid 1 and a pidfd
// of that process. The pid comes from the runtime's pid file; that it
// still is the sandbox's and not a recycled pid is checked through its
// cgroup, and that the process of the pidfd is the one whose namespace
// and cgroup were read by its not having exited after both were.
func (d *Driver) netns(id string) (ns, pidfd int, err error) {
	if _, err := d.readState(id); err != nil {
		return -1, -1, err
	}
	notRunning := fmt.Errorf("sandbox %q is not running: %w", id, errdefs.ErrFailedPrecondition)
	pid, err := readPidFile(filepath.Join(d.sandboxDir(id), "init.pid"))
	if err != nil {
		return -1, -1, notRunning
	}
	pidfd, err = unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, -1, notRunning
	}
	ns, err = unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(pidfd)
		return -1, -1, notRunning
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil || !strings.Contains(string(cg), d.cgroups.cgroupsPath(id)) || exited(pidfd) {
		unix.Close(ns)
		unix.Close(pidfd)
		return -1, -1, notRunning
	}
	return ns, pidfd, nil
}

// hostNetns is the server's own network namespace, opened once, from a
// goroutine not locked to a thread: only locked threads ever leave it.
var hostNetns = sync.OnceValues(func() (int, error) {
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open own network namespace: %w", err)
	}
	return fd, nil
})

// dialInNetns dials addr, an IPv4 address, from inside the network
// namespace ns. Only the socket needs making there (a socket belongs to
// the namespace it was made in): the goroutine is locked to its thread
// from the entry to the socket's creation, and the thread is back in the
// server's namespace before the connect, whose wait then costs no thread
// of its own. If the thread cannot return, it stays locked and dies with
// the goroutine rather than serve others in the wrong namespace.
func dialInNetns(ctx context.Context, ns int, addr string) (net.Conn, error) {
	host, err := hostNetns()
	if err != nil {
		return nil, err
	}
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter network namespace: %w", err)}
			return
		}
		inside := true
		leave := func() error {
			if err := unix.Setns(host, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("return to own network namespace: %w", err)
			}
			inside = false
			goruntime.UnlockOSThread()
			return nil
		}
		dialer := net.Dialer{ControlContext: func(context.Context, string, string, syscall.RawConn) error {
			if !inside {
				// A second attempt would make its socket here.
				return fmt.Errorf("dial %s: one attempt only", addr)
			}
			return leave()
		}}
		conn, err := dialer.DialContext(ctx, "tcp4", addr)
		if inside {
			_ = leave()
		}
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}
