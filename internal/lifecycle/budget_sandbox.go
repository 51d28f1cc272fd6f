package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/diskusage"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// checkSandboxBudget refuses a pause or snapshot (op, for the message) of
// sandbox sb that would take what it keeps on disk past the budget one
// sandbox may keep (Config.SandboxStateDiskMB). What it keeps is its
// snapshots and, while paused, its checkpoint and writable layer; the
// operation adds its writable layer (kept while paused, copied by a
// snapshot) and, when withMemory, the memory its processes hold beyond
// page cache, which is what their checkpoint takes. A refusal changes
// nothing; the caller holds sb's operation lock, so that two operations
// on it cannot together pass the budget.
func (m *Manager) checkSandboxBudget(ctx context.Context, sb store.Sandbox, op string, withMemory bool) error {
	if m.sandboxBudget <= 0 {
		return nil
	}
	var files int64
	if sb.Node != "" {
		// A joined node measures its sandbox's files itself.
		st, err := m.driver.Stats(ctx, sb.ID)
		if err != nil {
			return fmt.Errorf("sandbox %q: measure its files for the %s: %w", sb.ID, op, err)
		}
		files = int64(st.DiskUsed)
	} else if wl, ok := m.driver.(runtime.WritableLayerReader); ok {
		upper, _, err := wl.WritableLayer(ctx, sb.ID)
		if err != nil {
			return fmt.Errorf("sandbox %q: find its files for the %s: %w", sb.ID, op, err)
		}
		if files, err = diskusage.Of(upper); err != nil {
			return fmt.Errorf("sandbox %q: measure its files for the %s: %w", sb.ID, op, err)
		}
	}
	var memory int64
	if withMemory {
		st, err := m.driver.Stats(ctx, sb.ID)
		if err != nil {
			return fmt.Errorf("sandbox %q: measure its memory for the %s: %w", sb.ID, op, err)
		}
		memory = int64(st.MemoryUsage - min(st.MemoryCache, st.MemoryUsage))
	}
	var held int64
	if snaps, ok := m.tmpl.(Snapshots); ok {
		list, err := snaps.ListSnapshots(ctx, sb.ClientID, sb.ID)
		if err != nil {
			return fmt.Errorf("sandbox %q: measure its snapshots: %w", sb.ID, err)
		}
		for _, s := range list {
			held += s.SizeBytes
		}
	}
	if sb.State == store.StatePaused {
		cp, err := m.checkpointSize(ctx, sb)
		if err != nil {
			return fmt.Errorf("sandbox %q: measure its checkpoint: %w", sb.ID, err)
		}
		held += cp + files
	}
	if held+files+memory <= m.sandboxBudget {
		return nil
	}
	hint := "delete files in it or delete its snapshots (DELETE /templates/{id})"
	if withMemory && held+files <= m.sandboxBudget {
		hint = "do it with memory false, which keeps only its files, or " + hint
	}
	return fmt.Errorf("the %s of sandbox %q needs about %d MiB (its files %d MiB, its memory %d MiB) beside the %d MiB its snapshots and paused state hold, past the %d MiB one sandbox may keep (--sandbox-state-disk-mb): %s: %w",
		op, sb.ID, mib(files+memory), mib(files), mib(memory), mib(held), mib(m.sandboxBudget), hint, errdefs.ErrResourceExhausted)
}
