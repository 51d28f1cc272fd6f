package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// sandboxSysctls are set inside every sandbox's namespace: low ports are
// open to every uid, not only to root; ping works through ICMP sockets
// for every group (raw sockets stay unavailable); IPv6 is off, so no
// traffic escapes the IPv4 policy.
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
		if err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH) // the bind this call made
		}
	}
	if err != nil {
		return fmt.Errorf("share netns directory %s: %w", dir, err)
	}
	return nil
}

// mountNetns bind-mounts a network namespace at path after setting the
// sandbox sysctls in it: the namespace at from (such as a sandbox's
// /proc/<pid>/ns/net), or a new one when from is empty. The thread that
// enters it never returns to the pool of threads: it is left locked and
// ends with its goroutine.
func mountNetns(path, from string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: the thread is in the namespace for good.
		if from == "" {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				errc <- fmt.Errorf("unshare network namespace: %w", err)
				return
			}
		} else {
			fd, err := unix.Open(from, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- fmt.Errorf("open network namespace: %w", err)
				return
			}
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
			if err != nil {
				errc <- fmt.Errorf("enter network namespace: %w", err)
				return
			}
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
