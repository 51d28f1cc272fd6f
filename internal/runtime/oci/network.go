package oci

import (
	"context"
	"fmt"
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
	// run and no path in its root is under its control yet. The
	// template's file may be a symlink, which must not be followed on the
	// host side: it is replaced, not written through.
	p := filepath.Join(d.rootfsDir(spec.ID), "etc", "resolv.conf")
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("sandbox %q: replace /etc/resolv.conf: %w", spec.ID, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = f.WriteString("nameserver " + a.Gateway.String() + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox %q: write /etc/resolv.conf: %w", spec.ID, err)
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
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	status, _, err := d.status(ctx, st)
	if err != nil {
		return err
	}
	if status == runtime.StatusStopped {
		return nil // kept as it is until the sandbox runs again
	}
	return d.reattachNetwork(ctx, st)
}
