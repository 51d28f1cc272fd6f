package nodebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/scheduler"
)

// Runner is a node's build service (remotedriver.Driver): it runs req
// on the node, passing the build's log lines to log as they come, and
// returns the node's outcome.
type Runner interface {
	Build(ctx context.Context, req Request, log builder.Log) (Outcome, error)
}

// Config configures a Builder.
type Config struct {
	// Place chooses the node a build runs on (the registry's placement,
	// with scheduler.Request.Build set).
	Place func(ctx context.Context, req scheduler.Request) (node string, err error)
	// Node is the build service of the node Place chose.
	Node func(ctx context.Context, node string) (Runner, error)
	// Objects is the object storage the nodes share: a build's COPY
	// files go there for the node to fetch.
	Objects *objstore.Store
	// TmpDir holds a COPY archive while it is hashed and uploaded.
	TmpDir string
	// Registries go with every build: mirrors, private ranges
	// registries may be at, the bound on an image layer.
	Registries Registries
	Log        *slog.Logger
}

// Builder is the control plane's builder.Builder when it has no node of
// its own: each build runs on a joined node with object storage, which
// uploads the layers it makes; the result names them by digest, with
// the archive each is in object storage, for the catalog to record as
// any build's.
type Builder struct{ cfg Config }

var _ builder.Builder = (*Builder)(nil)

// New returns a builder that builds on joined nodes.
func New(cfg Config) *Builder {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Builder{cfg: cfg}
}

// Build implements builder.Builder.
func (b *Builder) Build(ctx context.Context, req builder.Request, log builder.Log) (builder.Result, error) {
	if req.Base.Image == "" && !req.Base.Default && len(req.Base.NodeLayers) == 0 {
		return builder.Result{}, &builder.StepError{Step: "base", ExitCode: -1,
			Err: fmt.Errorf("the base template's layers cannot be named to a node: %w", errdefs.ErrFailedPrecondition)}
	}
	var digests []string
	for _, l := range req.Base.NodeLayers {
		if l.Digest != "" {
			digests = append(digests, l.Digest)
		}
	}
	node, err := b.cfg.Place(ctx, scheduler.Request{Build: true, Layers: digests, CPU: req.Limits.CPUCount,
		MemoryBytes: uint64(max(req.Limits.MemoryMB, 0)) << 20})
	if err != nil {
		return builder.Result{}, &builder.StepError{Step: "base", ExitCode: -1, Err: fmt.Errorf("no node can build the template: %w", err)}
	}
	run, err := b.cfg.Node(ctx, node)
	if err != nil {
		return builder.Result{}, &builder.StepError{Step: "base", ExitCode: -1, Err: fmt.Errorf("node %s: %w", node, err)}
	}
	files, err := b.uploadFiles(ctx, req)
	if err != nil {
		return builder.Result{}, &builder.StepError{Step: "base", ExitCode: -1, Err: err}
	}
	log("info", "base", "building on node "+node)
	b.cfg.Log.Info("template build placed", slog.String("build", req.ID), slog.String("node", node))
	// The node bounds the build with req.Timeout and reports it; this
	// bound only ends a build whose node never answers again.
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout+Silence)
		defer cancel()
	}
	// The step a node lost mid-build was at is the failed step.
	rl := &relay{log: log, step: "base"}
	out, err := run.Build(ctx, Request{
		ID: req.ID, Steps: req.Steps, Force: req.Force, Files: files, Limits: req.Limits, Timeout: req.Timeout, Registries: b.cfg.Registries,
		Base: Base{Image: req.Base.Image, Registry: req.Base.Registry, Default: req.Base.Default,
			Layers: req.Base.NodeLayers, Settings: req.Base.Settings},
	}, rl.line)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled, or out of build minutes: the catalog says which.
			return builder.Result{}, fmt.Errorf("node %s: %w", node, errors.Join(ctx.Err(), err))
		}
		return builder.Result{}, &builder.StepError{Step: rl.step, ExitCode: -1, Err: fmt.Errorf("node %s was lost during the build: %w", node, err)}
	}
	if out.Failure != nil {
		return builder.Result{}, out.Failure.bounded().err()
	}
	res, err := out.result(node)
	if err == nil {
		err = b.checkHeld(ctx, node, res)
	}
	if err != nil {
		return builder.Result{}, &builder.StepError{Step: "finalize", ExitCode: -1, Err: err}
	}
	return res, nil
}

// uploadFiles puts the archives of req's COPY steps in object storage,
// by their SHA-256, and returns them by files hash.
func (b *Builder) uploadFiles(ctx context.Context, req builder.Request) (map[string]layer.Blob, error) {
	out := map[string]layer.Blob{}
	for _, st := range req.Steps {
		if !strings.EqualFold(st.Type, "COPY") {
			continue
		}
		if _, ok := out[st.FilesHash]; ok {
			continue
		}
		if b.cfg.Objects == nil || req.Files == nil {
			return nil, fmt.Errorf("COPY files: no object storage to hand them to the node through: %w", errdefs.ErrFailedPrecondition)
		}
		blob, err := b.uploadFile(ctx, req, st.FilesHash)
		if err != nil {
			return nil, fmt.Errorf("COPY files %s: %w", st.FilesHash, err)
		}
		out[st.FilesHash] = blob
	}
	return out, nil
}

// uploadFile hashes the archive of files hash into a temporary file and
// uploads it (a blob the bucket has is not sent again).
func (b *Builder) uploadFile(ctx context.Context, req builder.Request, hash string) (layer.Blob, error) {
	rc, err := req.Files(hash)
	if err != nil {
		return layer.Blob{}, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(b.cfg.TmpDir, ".upload-files-")
	if err != nil {
		return layer.Blob{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return layer.Blob{}, err
	}
	blob := layer.Blob{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n}
	if _, err := b.cfg.Objects.PutBlob(ctx, blob.Digest, f.Name(), n); err != nil {
		return layer.Blob{}, err
	}
	return blob, nil
}

// baseLayerPlace reports whether p is a base template layer's place in
// a template cache ("base/<version>/rootfs").
func baseLayerPlace(p string) bool {
	return filepath.IsLocal(p) && strings.HasPrefix(p, "base/") && filepath.Clean(p) == p
}
