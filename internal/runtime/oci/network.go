package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.NetworkPolicer = (*Driver)(nil)

// setupNetwork prepares the sandbox's network namespace when the driver
// has a network manager and points the sandbox's resolver at its gateway;
// it returns the namespace to join, or "" for a new loopback-only one.
// Teardown removes what it made.
func (d *Driver) setupNetwork(ctx context.Context, spec runtime.Spec) (string, error) {
	if d.network == nil {
		return "", nil
	}
	a, err := d.network.Setup(ctx, spec.ID, spec.Network)
	if err != nil {
		return "", fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	// Written before anything of the sandbox runs. The template's file
	// may be a symlink, which must not be followed on the host side: it
	// is replaced, not written through.
	p := filepath.Join(d.rootfsDir(spec.ID), "etc", "resolv.conf")
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("sandbox %q: replace /etc/resolv.conf: %w", spec.ID, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = f.WriteString("nameserver " + a.Gateway.String() + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return "", fmt.Errorf("sandbox %q: write /etc/resolv.conf: %w", spec.ID, err)
	}
	return a.NetnsPath, nil
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
