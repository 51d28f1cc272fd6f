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

// dialInNetns dials addr from inside the network namespace ns. The
// goroutine is locked to its thread while the thread is in the other
// namespace; if the thread cannot return to its own, it stays locked and
// dies with the goroutine rather than serve others in the wrong namespace.
func dialInNetns(ctx context.Context, ns int, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer unix.Close(self)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter network namespace: %w", err)}
			return
		}
		// The socket belongs to the namespace it was created in; connect
		// completes in the netpoller, but socket() runs here and now.
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if unix.Setns(self, unix.CLONE_NEWNET) == nil {
			goruntime.UnlockOSThread()
		}
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}
