package oci

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Recreator = (*Driver)(nil)

// Recreate makes a stopped sandbox's container again from its bundle: the
// root filesystem with its writable layer as the sandbox left it, the
// same config, fresh cgroups. The sandbox is then created, as after
// Create, and Start boots a fresh agent in it. Its processes of before
// are gone; its files are not.
func (d *Driver) Recreate(ctx context.Context, id string) (err error) {
	st, status, unlock, err := d.lockedState(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if status != runtime.StatusStopped {
		return fmt.Errorf("sandbox %q is %s, recreate needs it stopped: %w", id, status, errdefs.ErrFailedPrecondition)
	}
	if !d.rootfsMounted(id) {
		return fmt.Errorf("sandbox %q: its root filesystem is not mounted (the host restarted?): %w", id, errdefs.ErrFailedPrecondition)
	}
	// The stopped container's record and cgroups go first; a pid of the
	// old run must not linger in the new cgroups.
	if err := d.deleteContainer(ctx, st.Runtime, id); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := d.killCgroup(id); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := d.cgroups.remove(id); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	d.parentMu.RLock()
	defer d.parentMu.RUnlock()
	defer func() {
		if err != nil {
			if cerr := d.deleteContainer(context.WithoutCancel(ctx), st.Runtime, id); cerr != nil {
				d.log.Warn("clean up after failed recreate", logx.Sandbox(id), logx.Err(cerr))
			}
			_ = d.cgroups.remove(id)
		}
	}()
	// The config hands the agent its cgroup files at fixed fds; they are
	// opened again on the new cgroups in the same order, as many as the
	// config names (a sandbox made before the cpu child has two).
	userFiles, _, err := d.prepareUserCgroup(id, st.Runtime, st.Limits, d.configUserControllers(id))
	if err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	defer closeFiles(userFiles)
	if st.Restored {
		st.Restored = false
		if err := d.writeState(st); err != nil {
			return fmt.Errorf("sandbox %q: %w", id, err)
		}
	}
	if _, err := d.createContainer(ctx, st.Runtime, id, 0, userFiles); err != nil {
		return fmt.Errorf("sandbox %q: %w", id, err)
	}
	if err := d.reattachNetwork(ctx, st); err != nil {
		return err
	}
	return nil
}

// Release deletes a stopped sandbox's runtime record and cgroups, as a
// checkpoint does, so the memory charged to them (the page cache of its
// writable layer) is released; Recreate makes them again.
func (d *Driver) Release(ctx context.Context, id string) error {
	st, status, unlock, err := d.lockedState(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if status != runtime.StatusStopped {
		return fmt.Errorf("sandbox %q is %s, release needs it stopped: %w", id, status, errdefs.ErrFailedPrecondition)
	}
	d.dials.forget(id)
	d.parentMu.RLock()
	defer d.parentMu.RUnlock()
	d.releaseStopped(ctx, st)
	return nil
}
