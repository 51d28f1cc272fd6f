package nodebuild

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime"
)

// NodeConfig configures a node's side of builds.
type NodeConfig struct {
	// Builder returns the node's builder (builder.Node) with the
	// registry settings of a build's control plane.
	Builder func(Registries) builder.Builder
	// Layers is the node's layer store, whose remote is Objects: the
	// layers a build makes are uploaded from it.
	Layers  *layer.Store
	Objects *objstore.Store
	// Resolve finds a base template's layers on the node, fetching
	// those it lacks as the archives they name (the node's template
	// resolver, as for a create).
	Resolve func(ctx context.Context, ls []runtime.TemplateLayer) ([]string, error)
	// Default returns the base template's layers, built here.
	Default func(ctx context.Context) ([]string, error)
	// Cache is the template cache the base template's layers are in.
	Cache string
}

// Node runs the builds a control plane sends to this node.
type Node struct{ cfg NodeConfig }

// NewNode returns a node's side of builds.
func NewNode(cfg NodeConfig) *Node { return &Node{cfg: cfg} }

// Build runs req and uploads the layers it made; a failed build is an
// Outcome with its Failure, an error only a request the node cannot
// take.
func (n *Node) Build(ctx context.Context, req Request, log builder.Log) (Outcome, error) {
	if n.cfg.Layers == nil || !n.cfg.Layers.HasRemote() || n.cfg.Objects == nil {
		return Outcome{}, fmt.Errorf("this node has no object storage to upload a build's layers to (start it with --s3-endpoint): %w", errdefs.ErrFailedPrecondition)
	}
	fail := func(step string, err error) (Outcome, error) {
		return Outcome{Failure: failureOf(&builder.StepError{Step: step, ExitCode: -1, Err: err})}, nil
	}
	base := builder.Base{Image: req.Base.Image, Registry: req.Base.Registry, Settings: req.Base.Settings}
	if req.Base.Image == "" {
		var err error
		if req.Base.Default {
			base.Layers, err = n.cfg.Default(ctx)
		} else {
			base.Layers, err = n.cfg.Resolve(ctx, req.Base.Layers)
		}
		if err != nil {
			return fail("base", err)
		}
	}
	files, cleanup, err := n.fetchFiles(ctx, req.Files)
	defer cleanup()
	if err != nil {
		return fail("base", err)
	}
	res, err := n.cfg.Builder(req.Registries).Build(ctx, builder.Request{
		ID: req.ID, Base: base, Steps: req.Steps, Force: req.Force, Limits: req.Limits, Timeout: req.Timeout,
		Files: func(hash string) (io.ReadCloser, error) {
			p, ok := files[hash]
			if !ok {
				return nil, fmt.Errorf("the control plane sent no archive for files hash %s: %w", hash, errdefs.ErrInvalidArgument)
			}
			return os.Open(p)
		},
	}, log)
	if err != nil {
		return Outcome{Failure: failureOf(err)}, nil
	}
	out, err := n.uploaded(ctx, res, log)
	if err != nil {
		return fail("finalize", err)
	}
	return out, nil
}

// uploaded names res's layers as any node resolves them, once every
// layer of the layer store among them is in object storage: the build's
// own uploads run in the background, and one that failed is tried
// again once.
func (n *Node) uploaded(ctx context.Context, res builder.Result, log builder.Log) (Outcome, error) {
	out := Outcome{Settings: res.Settings, Cached: res.Cached, Layers: make([]runtime.TemplateLayer, len(res.Layers))}
	var digests []string
	for i, p := range res.Layers {
		if d, ok := n.digestOf(p); ok {
			digests = append(digests, d)
			out.Layers[i] = runtime.TemplateLayer{Digest: d}
			continue
		}
		rel, err := filepath.Rel(n.cfg.Cache, p)
		if err != nil || !baseLayerPlace(rel) {
			return Outcome{}, fmt.Errorf("layer %s is neither in the layer store nor the base template's: %w", p, errdefs.ErrFailedPrecondition)
		}
		out.Layers[i] = runtime.TemplateLayer{Base: rel}
	}
	log("info", "finalize", fmt.Sprintf("uploading %d layers to object storage", len(digests)))
	for try := 0; ; try++ {
		n.cfg.Layers.PushMissing(ctx, digests...)
		if err := n.cfg.Layers.WaitPushes(ctx); err != nil {
			return Outcome{}, err
		}
		missing := ""
		for i, l := range out.Layers {
			if l.Digest == "" {
				continue
			}
			blob, ok, err := n.cfg.Layers.Blob(ctx, l.Digest)
			if err != nil {
				return Outcome{}, err
			}
			if !ok {
				missing = l.Digest
				continue
			}
			out.Layers[i].Blob, out.Layers[i].Size = blob.Digest, blob.Size
		}
		if missing == "" {
			break
		}
		if try == 1 {
			return Outcome{}, fmt.Errorf("layer %s could not be uploaded to object storage (see the node's log): %w", missing, errdefs.ErrUnavailable)
		}
	}
	for _, d := range digests {
		if sz, err := n.cfg.Layers.Size(d); err == nil {
			out.Size += sz
		}
	}
	return out, nil
}

// digestOf is the digest of p when it is a layer of the node's layer
// store.
func (n *Node) digestOf(p string) (string, bool) {
	d := filepath.Base(p)
	if filepath.Dir(filepath.Clean(p)) != filepath.Clean(n.cfg.Layers.Dir()) || !layer.ValidDigest(d) {
		return "", false
	}
	return d, true
}

// fetchFiles downloads the COPY archives into temporary files, each
// verified against the archive the control plane named; cleanup
// removes them.
func (n *Node) fetchFiles(ctx context.Context, files map[string]layer.Blob) (map[string]string, func(), error) {
	out := map[string]string{}
	cleanup := func() {
		for _, p := range out {
			os.Remove(p)
		}
	}
	for hash, blob := range files {
		if !blob.Valid() || strings.ContainsAny(hash, "/\x00") {
			return out, cleanup, fmt.Errorf("files %s: archive %q is not a blob digest and size: %w", hash, blob.Digest, errdefs.ErrInvalidArgument)
		}
		f, err := os.CreateTemp(n.cfg.Layers.Dir(), ".download-files-")
		if err != nil {
			return out, cleanup, err
		}
		out[hash] = f.Name()
		err = n.cfg.Objects.GetBlob(ctx, blob.Digest, blob.Size, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return out, cleanup, fmt.Errorf("files %s from object storage: %w", hash, err)
		}
	}
	return out, cleanup, nil
}
