package oci

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// usernsCache keeps the user namespace of each host uid range the driver
// has mounted layers for. Making one starts a child in a new user
// namespace, which Go cannot start with vfork: the whole server is forked,
// and copying its page tables and the copy-on-write faults after cost
// about as much CPU as the rest of a create's root filesystem. Ranges are
// handed out lowest first, so the ones in use are about as many as the
// sandboxes that run at once, and each namespace is made once.
type usernsCache struct {
	mu     sync.Mutex
	fds    map[uint32]int
	closed bool
}

// usernsCacheMax bounds the namespaces kept; past it one is made per call.
const usernsCacheMax = 4096

// get returns an fd of the user namespace of hostUID's range, which the
// caller closes.
func (c *usernsCache) get(hostUID uint32) (int, error) {
	c.mu.Lock()
	fd, ok := c.fds[hostUID]
	if ok {
		defer c.mu.Unlock()
		return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	c.mu.Unlock()
	// Made without the lock: creates of other ranges do not wait.
	fd, err := userNamespace(hostUID)
	if err != nil {
		return -1, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept, ok := c.fds[hostUID]; ok {
		// Another create made it meanwhile: one is kept.
		_ = unix.Close(fd)
		return unix.FcntlInt(uintptr(kept), unix.F_DUPFD_CLOEXEC, 0)
	}
	if c.closed || len(c.fds) >= usernsCacheMax {
		return fd, nil // not kept: the caller's to close
	}
	if c.fds == nil {
		c.fds = map[uint32]int{}
	}
	c.fds[hostUID] = fd
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// close lets go of every kept namespace; later gets make one per call.
func (c *usernsCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for uid, fd := range c.fds {
		errs = append(errs, unix.Close(fd))
		delete(c.fds, uid)
	}
	c.closed = true
	return errors.Join(errs...)
}

// userNamespace returns an fd of a user namespace mapping 0..idRange-1 to
// hostUID..hostUID+idRange-1, for idmapped mounts. The kernel needs a
// namespace to take the mapping from; a short-lived child creates it and
// the open fd keeps it alive after the child is gone.
func userNamespace(hostUID uint32) (int, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"soulbox-userns-holder"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(hostUID), Size: idRange}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(hostUID), Size: idRange}},
		// The child is stopped by ptrace before it runs any code of its
		// own: it never executes, it only carries the namespace.
		Ptrace: true,
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("create user namespace: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open user namespace: %w", err)
	}
	return fd, nil
}

// idmapMount mounts a copy of src at dst, read-only, with its file owners
// shifted through the user namespace usernsFd: a file owned by uid 0 on
// disk is seen as owned by the sandbox's root.
func idmapMount(src, dst string, usernsFd int) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("clone %s: %w", src, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{
		Attr_set:  unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV,
		Userns_fd: uint64(usernsFd),
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("idmap %s: %w", src, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount idmapped %s at %s: %w", src, dst, err)
	}
	return nil
}
