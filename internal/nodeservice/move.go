package nodeservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime"
)

// WithObjects makes the node store its paused sandboxes' packs in
// objects, and make sandboxes moved from other nodes from theirs
// (runtime.Mover), with transfers (emptied now: what is there was cut
// short) for the packs and archives on their way; it returns s.
func (s *Service) WithObjects(objects *objstore.Store, transfers string) *Service {
	s.objects, s.transfers = objects, transfers
	_ = os.RemoveAll(transfers)
	return s
}

// mover is the driver's ability to move sandboxes, with the node's
// object storage.
func (s *Service) mover() (runtime.Mover, error) {
	mv, ok := s.d.(runtime.Mover)
	if !ok || s.objects == nil || s.transfers == "" {
		return nil, fmt.Errorf("node %s has no object storage (start it with --s3-endpoint): its paused sandboxes resume on it only: %w", s.node, errdefs.ErrFailedPrecondition)
	}
	if err := os.MkdirAll(s.transfers, 0o700); err != nil {
		return nil, fmt.Errorf("node %s transfer directory: %w", s.node, err)
	}
	return mv, nil
}

// UploadPaused implements the service: the pack is made in the
// transfer directory, archived and uploaded (a blob the bucket has is
// not sent again), then removed.
func (s *Service) UploadPaused(ctx context.Context, req *connect.Request[nodev1.SandboxRef]) (*connect.Response[nodev1.PausedBlob], error) {
	id := req.Msg.GetId()
	if err := runtime.ValidateID(id); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	mv, err := s.mover()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	info, err := s.d.Info(ctx, id)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if info.Status != runtime.StatusStopped {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q is %s, not paused: %w", id, info.Status, errdefs.ErrFailedPrecondition))
	}
	checkpoint := ""
	if s.checkpoints != "" {
		if _, err := os.Stat(filepath.Join(s.checkpoints, id)); err == nil {
			checkpoint = filepath.Join(s.checkpoints, id)
		}
	}
	pack := filepath.Join(s.transfers, id+".pack")
	_ = os.RemoveAll(pack)
	defer os.RemoveAll(pack)
	if err := mv.PackPaused(ctx, id, checkpoint, pack); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	ref, _, err := s.objects.UploadDir(ctx, pack, s.transfers)
	if err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: upload its paused state: %w", id, err))
	}
	return connect.NewResponse(&nodev1.PausedBlob{Digest: ref.Digest, SizeBytes: ref.Size}), nil
}

// RestoreMoved implements the service: the blob the control plane
// names is fetched into the transfer directory and verified (its
// digest and size; the bucket's refs are never read), then the
// sandbox made from it, bounded as a create is by --max-sandboxes. A
// sandbox moved with its files only is started here too, so the
// answer says it runs.
func (s *Service) RestoreMoved(ctx context.Context, req *connect.Request[nodev1.RestoreMovedRequest]) (*connect.Response[nodev1.RestoreMovedResult], error) {
	var spec runtime.Spec
	if err := json.Unmarshal(req.Msg.GetSpecJson(), &spec); err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("the sandbox spec does not decode: %v: %w", err, errdefs.ErrInvalidArgument))
	}
	if err := runtime.ValidateID(spec.ID); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	ref := objstore.Ref{Digest: req.Msg.GetBlob().GetDigest(), Size: req.Msg.GetBlob().GetSizeBytes()}
	if ref.Digest == "" || ref.Size <= 0 {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: no blob named to restore it from: %w", spec.ID, errdefs.ErrInvalidArgument))
	}
	mv, err := s.mover()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if req.Msg.GetClone() {
		if _, ok := s.d.(runtime.PackCreator); !ok {
			return nil, errdefs.ToConnect(fmt.Errorf("node %s (driver %s) cannot make sandboxes from snapshots: %w", s.node, s.d.Name(), errdefs.ErrFailedPrecondition))
		}
	}
	if _, err := s.d.Info(ctx, spec.ID); err == nil {
		return nil, errdefs.ToConnect(fmt.Errorf("node %s already has sandbox %q: %w", s.node, spec.ID, errdefs.ErrAlreadyExists))
	}
	if s.max > 0 {
		s.createMu.Lock()
		defer s.createMu.Unlock()
		if err := s.admit(ctx); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	in := filepath.Join(s.transfers, spec.ID+".fetch")
	if err := os.RemoveAll(in); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.ToConnect(err)
	}
	defer os.RemoveAll(in)
	if err := os.Mkdir(in, 0o700); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	// Read before it is unpacked, with the policy of fetched layers (no
	// block device, no device but a whiteout, no extended attribute but
	// overlayfs' and file capabilities): a node's upload is trusted no
	// further than a layer.
	if err := s.objects.DownloadDirChecked(ctx, ref, in, s.transfers, layer.CheckFetchedEntry); err != nil {
		what := "its paused state"
		if req.Msg.GetClone() {
			what = "its snapshot"
		}
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: fetch %s from object storage: %w", spec.ID, what, err))
	}
	if err := durable.SyncFS(in); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	var memory bool
	if req.Msg.GetClone() {
		memory, err = s.restoreSnapshot(ctx, spec, in)
	} else {
		memory, err = mv.RestoreMoved(ctx, spec, in)
	}
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	if !memory {
		if err := s.d.Start(ctx, spec.ID); err != nil {
			if derr := s.d.Destroy(context.WithoutCancel(ctx), spec.ID); derr != nil {
				err = fmt.Errorf("%w (and destroying it: %v)", err, derr)
			}
			return nil, errdefs.ToConnect(err)
		}
	}
	return connect.NewResponse(&nodev1.RestoreMovedResult{Memory: memory}), nil
}

// restoreSnapshot makes spec's new sandbox from the snapshot in dir: a
// clone checkpoint is restored as a fork is (memory true); a pack of
// files only is created on, for the caller to start.
func (s *Service) restoreSnapshot(ctx context.Context, spec runtime.Spec, dir string) (memory bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, "images")); err == nil {
		cl, err := s.cloner()
		if err != nil {
			return false, err
		}
		return true, cl.RestoreClone(ctx, spec, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return false, s.d.(runtime.PackCreator).CreateFromPack(ctx, spec, dir)
}

// UploadSnapshot implements the service: the snapshot is made in the
// transfer directory (a clone checkpoint, the sandbox held still by the
// driver; or, with files only or of a paused sandbox, a pack of its
// writable layer, a running sandbox held still meanwhile), uploaded as
// UploadPaused uploads a pack, then removed.
func (s *Service) UploadSnapshot(ctx context.Context, req *connect.Request[nodev1.UploadSnapshotRequest]) (*connect.Response[nodev1.PausedBlob], error) {
	id := req.Msg.GetId()
	if err := runtime.ValidateID(id); err != nil {
		return nil, errdefs.ToConnect(err)
	}
	mv, err := s.mover()
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	info, err := s.d.Info(ctx, id)
	if err != nil {
		return nil, errdefs.ToConnect(err)
	}
	running := info.Status == runtime.StatusRunning
	pack := filepath.Join(s.transfers, id+".snapshot")
	_ = os.RemoveAll(pack)
	_ = os.RemoveAll(pack + ".partial")
	defer os.RemoveAll(pack)
	if running && !req.Msg.GetFilesOnly() {
		cl, err := s.cloner()
		if err != nil {
			return nil, errdefs.ToConnect(err)
		}
		if err := cl.CheckpointClone(ctx, id, pack); err != nil {
			return nil, errdefs.ToConnect(err)
		}
	} else {
		if running {
			// Held still, so that the copy is of one moment.
			if err := s.d.Pause(ctx, id); err != nil {
				return nil, errdefs.ToConnect(fmt.Errorf("hold sandbox %q still for its snapshot: %w", id, err))
			}
		}
		err := mv.PackPaused(ctx, id, "", pack)
		if running {
			if rerr := s.d.Resume(context.WithoutCancel(ctx), id); rerr != nil {
				return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: thaw it after its snapshot: %w", id, rerr))
			}
		}
		if err != nil {
			return nil, errdefs.ToConnect(err)
		}
	}
	ref, _, err := s.objects.UploadDir(ctx, pack, s.transfers)
	if err != nil {
		return nil, errdefs.ToConnect(fmt.Errorf("sandbox %q: upload its snapshot: %w", id, err))
	}
	return connect.NewResponse(&nodev1.PausedBlob{Digest: ref.Digest, SizeBytes: ref.Size}), nil
}
