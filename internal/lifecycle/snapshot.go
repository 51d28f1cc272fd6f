package lifecycle

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// Snapshots is the optional ability of the template resolver to keep a
// sandbox's filesystem changes as a snapshot template and list them.
type Snapshots interface {
	CreateSnapshot(ctx context.Context, sb store.Sandbox, name, upper string, hostUID uint32, checkpoint func(dir string) (withFiles bool, err error)) (catalog.Snapshot, error)
	SnapshotCheckpoint(ctx context.Context, ref string) (dir, template string, ok bool, err error)
	ListSnapshots(ctx context.Context, team, sandboxID string) ([]catalog.Snapshot, error)
	SnapshotDiskUsage(ctx context.Context) (int64, error)
}

// Snapshot keeps a live sandbox as a snapshot (a private template of its
// team, named name when given) that new sandboxes start from: its files
// and, for a running sandbox the runtime can clone, its processes and
// memory, which a create from the snapshot restores (see
// createFromCheckpoint); with memory false (E2B's SandboxSnapshotRequest
// memory: false) its files only, from which creates cold-boot. A running
// sandbox is frozen meanwhile and runs on afterwards. Pauses, resumes and
// kills of the sandbox wait.
func (m *Manager) Snapshot(ctx context.Context, id, name string, memory bool) (catalog.Snapshot, error) {
	snaps, ok := m.tmpl.(Snapshots)
	wl, ok2 := m.driver.(runtime.WritableLayerReader)
	if !ok || !ok2 {
		return catalog.Snapshot{}, fmt.Errorf("this server cannot snapshot sandboxes: %w", errdefs.ErrFailedPrecondition)
	}
	defer m.opLock(id)()
	sb, err := m.live(ctx, id)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	if sb.State != store.StateRunning && sb.State != store.StatePaused {
		return catalog.Snapshot{}, unsettled(sb)
	}
	if sb.Node != "" {
		return m.snapshotOnNode(ctx, snaps, sb, name, memory)
	}
	_, cloner := m.driver.(runtime.Cloner)
	if err := m.checkSandboxBudget(ctx, sb, "snapshot", cloner && memory && sb.State == store.StateRunning); err != nil {
		return catalog.Snapshot{}, err
	}
	done := m.transit(id)
	defer done()
	if m.snapshotBudget > 0 {
		// One snapshot at a time under a budget, so that two cannot
		// together pass it.
		m.snapshotMu.Lock()
		defer m.snapshotMu.Unlock()
		if err := m.checkSnapshotBudget(ctx, snaps, id, cloner && memory && sb.State == store.StateRunning); err != nil {
			return catalog.Snapshot{}, err
		}
	}
	if sb.State == store.StateRunning {
		// Held still, so that the copy is of one moment.
		if err := m.driver.Pause(ctx, id); err != nil {
			return catalog.Snapshot{}, fmt.Errorf("hold sandbox %q still for its snapshot: %w", id, err)
		}
		defer func() {
			if err := m.driver.Resume(context.WithoutCancel(ctx), id); err != nil {
				m.log.Error("thaw a sandbox after its snapshot", logx.Sandbox(id), logx.Err(err))
			}
		}()
	}
	upper, hostUID, err := wl.WritableLayer(ctx, id)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	var checkpoint func(dir string) (bool, error)
	if cl, ok := m.driver.(runtime.Cloner); ok && memory && sb.State == store.StateRunning {
		checkpoint = func(dir string) (withFiles bool, err error) {
			// The files are the snapshot's layer, copied while the
			// sandbox is held still: the checkpoint need not copy them
			// again when the runtime can leave them out.
			if pc, ok := m.driver.(runtime.ProcessCloner); ok {
				err = pc.CheckpointCloneProcesses(ctx, id, dir)
			} else {
				withFiles, err = true, cl.CheckpointClone(ctx, id, dir)
			}
			if err != nil {
				return false, err
			}
			// The restored agent is this one, with its tokens.
			return withFiles, writeCloneTokens(dir, sb)
		}
	}
	return snaps.CreateSnapshot(ctx, sb, name, upper, hostUID, checkpoint)
}

// ListSnapshots returns team's snapshots, of sandbox sandboxID only when
// it is given, oldest first.
func (m *Manager) ListSnapshots(ctx context.Context, team, sandboxID string) ([]catalog.Snapshot, error) {
	snaps, ok := m.tmpl.(Snapshots)
	if !ok {
		return nil, nil
	}
	return snaps.ListSnapshots(ctx, team, sandboxID)
}

// checkSnapshotBudget refuses a snapshot of sandbox id that would take
// the snapshots' layers past the server's budget (Config.SnapshotDiskMB).
// The snapshot's size is estimated as what the sandbox's writable layer
// holds and, when withMemory (its processes are checkpointed too), the
// memory they use beside the page cache, which is what the checkpoint
// holds.
func (m *Manager) checkSnapshotBudget(ctx context.Context, snaps Snapshots, id string, withMemory bool) error {
	st, err := m.driver.Stats(ctx, id)
	if err != nil {
		return fmt.Errorf("sandbox %q: measure its files for the snapshot: %w", id, err)
	}
	used, err := snaps.SnapshotDiskUsage(ctx)
	if err != nil {
		return fmt.Errorf("measure the snapshots: %w", err)
	}
	need := int64(st.DiskUsed)
	if withMemory && st.MemoryUsage > st.MemoryCache {
		need += int64(st.MemoryUsage - st.MemoryCache)
	}
	if used+need > m.snapshotBudget {
		return fmt.Errorf("a snapshot of sandbox %q needs about %d MiB; snapshots hold %d MiB of the server's %d MiB (--snapshot-disk-mb): delete snapshots (DELETE /templates/{id}) first: %w",
			id, mib(need), mib(used), mib(m.snapshotBudget), errdefs.ErrResourceExhausted)
	}
	return nil
}
