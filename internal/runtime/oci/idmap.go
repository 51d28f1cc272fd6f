package oci

import (
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

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
