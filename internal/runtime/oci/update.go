package oci

import (
	"context"
	"fmt"
	"strconv"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Updater = (*Driver)(nil)

// Update sets a running sandbox's CPU, memory and pids limits through the
// runtime, which writes them to its cgroup. The disk quota is the size of
// the sandbox's image and cannot change; a different DiskMB is refused.
func (d *Driver) Update(ctx context.Context, id string, l runtime.Limits) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	l = l.WithDefaults()
	if err := l.Validate(); err != nil {
		return err
	}
	unlock := d.lock(id)
	defer unlock()
	st, err := d.readState(id)
	if err != nil {
		return err
	}
	if l.DiskMB != st.Limits.DiskMB {
		return fmt.Errorf("sandbox %q: its disk is %d MB and cannot become %d MB: %w", id, st.Limits.DiskMB, l.DiskMB, errdefs.ErrFailedPrecondition)
	}
	if st.Runtime == "runsc" {
		return fmt.Errorf("sandbox %q: runsc sandboxes keep the limits they started with: %w", id, errdefs.ErrFailedPrecondition)
	}
	if _, err := d.runRuntime(ctx, st.Runtime, "update",
		"--cpu-period", "100000",
		"--cpu-quota", strconv.Itoa(l.CPUCount*100000),
		"--memory", strconv.Itoa(l.MemoryMB<<20),
		"--pids-limit", strconv.Itoa(l.Pids),
		id); err != nil {
		return fmt.Errorf("sandbox %q: update limits: %w", id, err)
	}
	if d.userCgroupExists(id) {
		for _, c := range userControllers {
			if err := d.writeUserLimit(c, id, l); err != nil {
				return fmt.Errorf("sandbox %q: update limits: %w", id, err)
			}
		}
	}
	st.Limits = l
	return d.writeState(st)
}
