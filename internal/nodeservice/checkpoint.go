package nodeservice

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/diskusage"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// WithCheckpoints makes the node keep its sandboxes' checkpoints in dir
// (the node's <data-dir>/checkpoints), one directory per sandbox, and
// serve the Checkpoint calls with its driver's runtime.Checkpointer; it
// returns s. Without it those calls are refused.
func (s *Service) WithCheckpoints(dir string) *Service {
	s.checkpoints = dir
	return s
}

// checkpointer is the driver's ability to checkpoint and the directory
// of sandbox id's checkpoint.
func (s *Service) checkpointer(id string) (runtime.Checkpointer, string, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, "", err
	}
	cp, ok := s.d.(runtime.Checkpointer)
	if !ok || s.checkpoints == "" {
		return nil, "", fmt.Errorf("node %s (driver %s) cannot pause a sandbox with its memory; pause with memory false: %w", s.node, s.d.Name(), errdefs.ErrFailedPrecondition)
	}
	return cp, filepath.Join(s.checkpoints, id), nil
}

// Checkpoint implements the service.
func (s *Service) Checkpoint(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.CheckpointState], error) {
	id := req.Msg.GetId()
	cp, dir, err := s.checkpointer(id)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	info, err := s.d.Info(ctx, id)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// A checkpoint of a sandbox that runs is one it was restored from,
	// or one a pause cut short left: never needed again.
	if info.Status == runtime.StatusRunning || info.Status == runtime.StatusPaused {
		if err := s.dropCheckpoint(id); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	if err := os.MkdirAll(s.checkpoints, 0o711); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("node %s checkpoint directory: %w", s.node, err))
	}
	done := s.dumpBegins(id)
	err = cp.Checkpoint(ctx, id, dir)
	done()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	size, err := diskusage.Of(dir)
	if err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: measure its checkpoint: %w", id, err))
	}
	return connect.NewResponse(&nodev1.CheckpointState{Complete: true, SizeBytes: size}), nil
}

// Restore implements the service: the checkpoint is removed once the
// sandbox runs from it.
func (s *Service) Restore(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	id := req.Msg.GetId()
	cp, dir, err := s.checkpointer(id)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// The directory appears only once the checkpoint is complete.
	if _, err := os.Stat(dir); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("node %s keeps no complete checkpoint of sandbox %q: %w", s.node, id, errdefs.ErrNotFound))
	}
	if err := cp.Restore(ctx, id, dir); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// It runs: a checkpoint left behind is only space, removed by the
	// next checkpoint or destroy.
	_ = s.dropCheckpoint(id)
	return empty(), nil
}

// KeptCheckpoint implements the service. While a checkpoint of the
// sandbox is under way it is unavailable: the sandbox is frozen, which
// would pass for a pause that never took.
func (s *Service) KeptCheckpoint(_ context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.CheckpointState], error) {
	id := req.Msg.GetId()
	if err := runtime.ValidateID(id); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	out := &nodev1.CheckpointState{}
	if s.checkpoints == "" {
		return connect.NewResponse(out), nil
	}
	if err := s.stillDumping(id); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	dir := filepath.Join(s.checkpoints, id)
	if _, err := os.Stat(dir); err != nil {
		return connect.NewResponse(out), nil
	}
	size, err := diskusage.Of(dir)
	if err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: measure its checkpoint: %w", id, err))
	}
	out.Complete, out.SizeBytes = true, size
	return connect.NewResponse(out), nil
}

// DropCheckpoint implements the service.
func (s *Service) DropCheckpoint(_ context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	if err := runtime.ValidateID(req.Msg.GetId()); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	return empty(), errdefs.ToConnect(s.dropCheckpoint(req.Msg.GetId()))
}

// dropCheckpoint removes sandbox id's checkpoint and any pause of it
// cut short.
func (s *Service) dropCheckpoint(id string) error {
	if s.checkpoints == "" || runtime.ValidateID(id) != nil {
		return nil
	}
	dir := filepath.Join(s.checkpoints, id)
	for _, p := range []string{dir, dir + ".partial"} {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sandbox %q: remove its checkpoint: %w", id, err)
		}
	}
	return nil
}

// SweepCheckpoints removes the checkpoints in the node's checkpoint
// directory whose sandbox the driver no longer has (destroyed while
// the node was down), and pauses cut short by a stop.
func (s *Service) SweepCheckpoints(ctx context.Context) error {
	if s.checkpoints == "" {
		return nil
	}
	entries, err := os.ReadDir(s.checkpoints)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the checkpoint directory: %w", err)
	}
	list, err := s.d.List(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, i := range list {
		have[i.ID] = true
	}
	for _, e := range entries {
		if name := e.Name(); !have[name] {
			if err := os.RemoveAll(filepath.Join(s.checkpoints, name)); err != nil {
				return fmt.Errorf("remove unowned checkpoint %s: %w", name, err)
			}
		}
	}
	return nil
}

// Recreate implements the service.
func (s *Service) Recreate(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	rc, ok := s.d.(runtime.Recreator)
	if !ok {
		return nil, errdefs.ToConnect(fmt.Errorf("driver %s cannot boot a sandbox again from its files: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	return empty(), errdefs.ToConnect(rc.Recreate(ctx, req.Msg.GetId()))
}

// Release implements the service.
func (s *Service) Release(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	rc, ok := s.d.(runtime.Recreator)
	if !ok {
		return nil, errdefs.ToConnect(fmt.Errorf("driver %s cannot release a stopped sandbox: %w", s.d.Name(), errdefs.ErrFailedPrecondition))
	}
	return empty(), errdefs.ToConnect(rc.Release(ctx, req.Msg.GetId()))
}

// RepairNetwork implements the service.
func (s *Service) RepairNetwork(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.Empty], error) {
	nr, ok := s.d.(runtime.NetworkRepairer)
	if !ok {
		return empty(), nil // no network of its own to repair
	}
	return empty(), errdefs.ToConnect(nr.RepairNetwork(ctx, req.Msg.GetId()))
}
