package oci

import (
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// chooseRuntime picks the OCI runtime binary. crun starts containers about
// three times faster than runc but refuses hybrid cgroup layouts (v1
// controllers beside a v2 mount), so it is preferred only on pure v2 hosts;
// runc runs everywhere. runsc is never chosen by default: it is the
// stronger, slower tier a template or sandbox asks for.
func chooseRuntime(forced string, layout cgroupLayout, lookPath func(string) (string, error)) (string, error) {
	if forced != "" {
		if err := runtimeUsable(forced, layout, lookPath); err != nil {
			return "", err
		}
		return forced, nil
	}
	if layout.unified {
		if _, err := lookPath("crun"); err == nil {
			return "crun", nil
		}
	}
	if _, err := lookPath("runc"); err == nil {
		return "runc", nil
	}
	return "", fmt.Errorf("no OCI runtime found: install runc (apt-get install runc): %w", errdefs.ErrFailedPrecondition)
}

// runtimeUsable checks that name can run sandboxes on this host.
func runtimeUsable(name string, layout cgroupLayout, lookPath func(string) (string, error)) error {
	switch name {
	case "runc", "crun", "runsc":
	default:
		return fmt.Errorf("runtime %q: use runc, crun or runsc: %w", name, errdefs.ErrInvalidArgument)
	}
	if _, err := lookPath(name); err != nil {
		return fmt.Errorf("runtime %q is not installed on this host: %w", name, errdefs.ErrFailedPrecondition)
	}
	if name == "crun" && !layout.unified {
		return fmt.Errorf("runtime crun does not run on this host's hybrid cgroup v1 layout; use runc: %w", errdefs.ErrFailedPrecondition)
	}
	return nil
}
