package nodeservice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/diskusage"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// A clone checkpoint's name: "clone." and 16 hex digits, which no
// sandbox id can be (ids have no dot), so it never meets a sandbox's
// checkpoint in the directory, and the sweep at start removes it.
var clonePattern = regexp.MustCompile(`^clone\.[0-9a-f]{16}$`)

// cloneDir is the directory of the named clone checkpoint.
func (s *Service) cloneDir(name string) (string, error) {
	if !clonePattern.MatchString(name) {
		return "", fmt.Errorf("clone checkpoint %q: not a name this node gives: %w", name, errdefs.ErrInvalidArgument)
	}
	if s.checkpoints == "" {
		return "", fmt.Errorf("node %s keeps no checkpoints: %w", s.node, errdefs.ErrFailedPrecondition)
	}
	return filepath.Join(s.checkpoints, name), nil
}

// cloner is the driver's ability to clone.
func (s *Service) cloner() (runtime.Cloner, error) {
	cl, ok := s.d.(runtime.Cloner)
	if !ok || s.checkpoints == "" {
		return nil, fmt.Errorf("node %s (driver %s) cannot fork a sandbox with its memory: %w", s.node, s.d.Name(), errdefs.ErrFailedPrecondition)
	}
	return cl, nil
}

// CheckpointClone implements the service.
func (s *Service) CheckpointClone(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.CloneCheckpoint], error) {
	id := req.Msg.GetId()
	if err := runtime.ValidateID(id); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	cl, err := s.cloner()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "clone." + hex.EncodeToString(b[:])
	if err := os.MkdirAll(s.checkpoints, 0o711); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("node %s checkpoint directory: %w", s.node, err))
	}
	dir := filepath.Join(s.checkpoints, name)
	if err := cl.CheckpointClone(ctx, id, dir); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	size, err := diskusage.Of(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: measure its clone checkpoint: %w", id, err))
	}
	return connect.NewResponse(&nodev1.CloneCheckpoint{Name: name, SizeBytes: size}), nil
}

// RestoreClone implements the service: a new sandbox, bounded as a
// create is by the node's --max-sandboxes.
func (s *Service) RestoreClone(ctx context.Context, req *connect.Request[nodev1.RestoreCloneRequest]) (*connect.Response[nodev1.Empty], error) {
	var spec runtime.Spec
	if err := json.Unmarshal(req.Msg.GetSpecJson(), &spec); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the sandbox spec does not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	dir, err := s.cloneDir(req.Msg.GetName())
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	cl, err := s.cloner()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("node %s keeps no clone checkpoint %s: %w", s.node, req.Msg.GetName(), errdefs.ErrNotFound))
	}
	if s.max > 0 {
		s.createMu.Lock()
		defer s.createMu.Unlock()
		if err := s.admit(ctx); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	return empty(), errdefs.ToConnect(cl.RestoreClone(ctx, spec, dir))
}

// DropClone implements the service.
func (s *Service) DropClone(_ context.Context, req *connect.Request[nodev1.CloneCheckpoint]) (*connect.Response[nodev1.Empty], error) {
	dir, err := s.cloneDir(req.Msg.GetName())
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("remove clone checkpoint %s: %w", req.Msg.GetName(), err))
	}
	_ = os.RemoveAll(dir + ".partial")
	return empty(), nil
}
