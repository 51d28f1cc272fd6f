package oci

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.NetworkPolicer = (*Driver)(nil)

// setupNetwork gives a created sandbox its network when the driver has a
// network manager: between the runtime's create and start, the manager
// configures the network namespace the runtime made (its loopback only
// until then) from the host, and the sandbox's resolver is pointed at its
// gateway, all before the sandbox runs anything. Teardown removes it.
//
// The namespace is the runtime's, owned by the sandbox's user namespace,
// rather than one the host made and the sandbox joins: runc (before 1.2)
// enters the user namespace first on exec and then cannot enter a network
// namespace the host owns. Root inside still cannot reconfigure it:
// CAP_NET_ADMIN is not in its bounding set. gVisor reads its interfaces
// at create, so runsc sandboxes keep loopback only.
func (d *Driver) setupNetwork(ctx context.Context, spec runtime.Spec, rt string) error {
	if d.network == nil || rt == "runsc" {
		return nil
	}
	pid, err := readPidFile(filepath.Join(d.sandboxDir(spec.ID), "init.pid"))
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	a, err := d.network.Setup(ctx, spec.ID, fmt.Sprintf("/proc/%d/ns/net", pid), spec.Network)
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	// The runtime's init waits for start, so nothing of the sandbox has
	// run yet; the template's /etc or resolv.conf may still be a symlink.
	if err := writeResolvConf(d.rootfsDir(spec.ID), a.Gateway); err != nil {
		return fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	return nil
}

// writeResolvConf points the sandbox's resolver at gw. Paths resolve
// inside rootfs (openat2 RESOLVE_IN_ROOT, as readInRoot): a template's
// /etc that is a symlink to a host path leads back into the sandbox. The
// file itself is replaced, never written through.
func writeResolvConf(rootfs string, gw netip.Addr) error {
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open sandbox root: %w", err)
	}
	defer unix.Close(root)
	etc, err := unix.Openat2(root, "etc", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return fmt.Errorf("open /etc in sandbox: %w", err)
	}
	defer unix.Close(etc)
	if err := unix.Unlinkat(etc, "resolv.conf", 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("replace /etc/resolv.conf: %w", err)
	}
	fd, err := unix.Openat(etc, "resolv.conf", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("write /etc/resolv.conf: %w", err)
	}
	f := os.NewFile(uintptr(fd), "resolv.conf")
	_, err = f.WriteString("nameserver " + gw.String() + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write /etc/resolv.conf: %w", err)
	}
	return nil
}

// SetNetworkPolicy replaces the sandbox's egress policy at once.
func (d *Driver) SetNetworkPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if d.network == nil {
		// Loopback only: the sandbox reaches nothing, which every policy
		// allows.
		return nil
	}
	return d.network.SetPolicy(ctx, id, p)
}

// reattachNetwork hands the sandbox's network, kept while it was stopped,
// to the network namespace its runtime has just made again (a CRIU
// restore or a recreate makes a new one, with loopback only), unless it
// is there already.
func (d *Driver) reattachNetwork(ctx context.Context, st sandboxState) error {
	if d.network == nil || st.Runtime == "runsc" {
		return nil
	}
	pid, err := readPidFile(filepath.Join(d.sandboxDir(st.ID), "init.pid"))
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", st.ID, err)
	}
	ns := fmt.Sprintf("/proc/%d/ns/net", pid)
	var now, kept unix.Stat_t
	if unix.Stat(ns, &now) == nil && unix.Stat(d.network.NetnsPath(st.ID), &kept) == nil && now.Ino == kept.Ino && now.Dev == kept.Dev {
		return nil
	}
	if _, err := d.network.Reattach(ctx, st.ID, ns); err != nil {
		return fmt.Errorf("sandbox %q: reattach network: %w", st.ID, err)
	}
	return nil
}

var _ runtime.NetworkRepairer = (*Driver)(nil)

// RepairNetwork gives a created or running sandbox its network back when
// its namespace is not the one the network manager keeps: a restore or
// recreate the server did not see to its end.
func (d *Driver) RepairNetwork(ctx context.Context, id string) error {
	st, status, unlock, err := d.lockedState(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if status == runtime.StatusStopped {
		return nil // kept as it is until the sandbox runs again
	}
	return d.reattachNetwork(ctx, st)
}
