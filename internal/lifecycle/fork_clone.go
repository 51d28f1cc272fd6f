package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// forkClones forks running sandbox src with its processes and memory:
// one clone checkpoint (the source held still for it, then running on),
// then count sandboxes restored from it, each recorded first as a create
// is, as many at once as the host has CPUs. It reports handled false, and makes nothing, when the runtime
// cannot clone this sandbox (no clone ability, a sandbox not running, or
// one runc restored before, where CRIU lacks the patch in scripts/criu): the caller forks its files instead.
func (m *Manager) forkClones(ctx context.Context, src store.Sandbox, count int, timeout time.Duration) (out []ForkResult, handled bool, err error) {
	cl, ok := m.driver.(runtime.Cloner)
	if !ok || m.checkpoints == "" {
		return nil, false, nil
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	req := CreateRequest{Network: networkRequestOf(src.Network)}
	if req.net, err = m.resolveNetwork(req.Network); err != nil {
		return nil, true, err
	}
	if err := os.MkdirAll(m.checkpoints, 0o711); err != nil {
		return nil, true, fmt.Errorf("checkpoint directory: %w", err)
	}
	// Under the source's pause lock: no pause, resume or kill of it
	// while it is saved. The directory's name is no sandbox's, so the
	// next start sweeps it if the server stops meanwhile.
	dir := filepath.Join(m.checkpoints, "fork-"+newID())
	err = func() error {
		defer m.opLock(src.ID)()
		now, err := m.live(ctx, src.ID)
		if err != nil {
			return err
		}
		if now.State != store.StateRunning {
			return fmt.Errorf("sandbox %q is %s: %w", src.ID, now.State, errdefs.ErrFailedPrecondition)
		}
		release, err := m.reserveCheckpoint(ctx, src.ID)
		if err != nil {
			return err
		}
		defer release()
		done := m.transit(src.ID)
		defer done()
		return cl.CheckpointClone(ctx, src.ID, dir)
	}()
	defer os.RemoveAll(dir)
	if errdefs.IsFailedPrecondition(err) {
		m.log.Info("fork with the files only: the runtime cannot clone the sandbox", logx.Sandbox(src.ID), logx.Err(err))
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	out = make([]ForkResult, count)
	eachFork(count, func(i int) {
		out[i].Sandbox, out[i].Err = m.restoreClone(ctx, src, timeout, req.net, func(spec runtime.Spec) error { return cl.RestoreClone(ctx, spec, dir) })
	})
	return out, true, nil
}

// restoreClone records and restores one fork of src (on src's node)
// from a clone checkpoint with restore. The fork's agent is the
// source's, restored with its memory and the source's access tokens; it
// is switched to the fork's own (recorded first) before the fork is
// running.
func (m *Manager) restoreClone(ctx context.Context, src store.Sandbox, timeout time.Duration, net resolvedNetwork, restore func(runtime.Spec) error) (store.Sandbox, error) {
	now := time.Now().UTC()
	old := cloneTokens{Envd: src.EnvdAccessToken, Traffic: src.TrafficAccessToken}
	fresh := freshTokens(old, src.TrafficAccessToken != "")
	sb := store.Sandbox{
		ID: newID(), TemplateID: src.TemplateID, ClientID: src.ClientID, State: store.StateStarting,
		CPUCount: src.CPUCount, MemoryMB: src.MemoryMB, DiskMB: src.DiskMB,
		Metadata: maps.Clone(src.Metadata), EnvVars: maps.Clone(src.EnvVars), EnvdAccessToken: fresh.Envd,
		CreatedAt: now, EndAt: now.Add(timeout), Runtime: m.runtimeName(ctx, src.Node), Network: src.Network,
		TrafficAccessToken: fresh.Traffic, Lifecycle: src.Lifecycle, Node: src.Node,
	}
	limits := runtime.Limits{CPUCount: src.CPUCount, MemoryMB: src.MemoryMB, DiskMB: src.DiskMB}.WithDefaults()
	spec := runtime.Spec{ID: sb.ID, Template: src.TemplateID, Limits: limits, Network: net.policy}
	sb, err := m.restoreInto(ctx, sb, func() error { return restore(spec) }, old, fresh, "fork of sandbox "+src.ID,
		"forked from "+src.ID+" with its processes and memory")
	if err == nil {
		m.log.Info("sandbox forked", logx.Sandbox(sb.ID), "source", src.ID)
	}
	return sb, err
}
