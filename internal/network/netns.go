package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// sandboxSysctls are set inside every sandbox's namespace, which its user
// namespace does not own: root inside has no CAP_NET_BIND_SERVICE over
// it, so low ports are opened to every uid; ping works through ICMP
// sockets for every group (raw sockets stay unavailable); IPv6 is off, so
// no traffic escapes the IPv4 policy.
var sandboxSysctls = []struct{ key, value string }{
	{"net/ipv4/ip_unprivileged_port_start", "0"},
	{"net/ipv4/ping_group_range", "0 2147483647"},
	{"net/ipv6/conf/all/disable_ipv6", "1"},
	{"net/ipv6/conf/default/disable_ipv6", "1"},
	{"net/ipv6/conf/lo/disable_ipv6", "1"},
}

// prepareNetnsDir makes dir a shared mount point, as iproute2 does for
// /run/netns, so that a namespace unmounted here is unmounted in mount
// namespaces copied from the host too and can be freed.
func prepareNetnsDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("create netns directory: %w", err)
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind netns directory %s: %w", dir, err)
		}
		err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("share netns directory %s: %w", dir, err)
	}
	return nil
}

// createNetns makes a new network namespace with the sandbox sysctls and
// loopback up, and bind-mounts it at path. The thread that creates it
// never returns to the pool of threads: it is left locked and ends with
// its goroutine.
func createNetns(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: the thread is in the new namespace for good.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare network namespace: %w", err)
			return
		}
		for _, s := range sandboxSysctls {
			if err := os.WriteFile(filepath.Join("/proc/sys", s.key), []byte(s.value), 0); err != nil {
				errc <- fmt.Errorf("set %s in the sandbox's namespace: %w", s.key, err)
				return
			}
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind network namespace: %w", err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// removeNetns unmounts and removes a namespace file; a missing one is not
// an error.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace file: %w", err)
	}
	return nil
}
