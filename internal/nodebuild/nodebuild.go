// Package nodebuild builds templates on joined nodes, for a control
// plane without an embedded node: what the control plane sends a node
// (Request) and what the node answers (Outcome), the control plane's
// builder.Builder that places a build on a node with object storage and
// relays its log (Builder), and the node's side that runs the build on
// its own builder and uploads the layers it made (Node). The node
// service carries both as JSON (api/node/v1 SandboxService.Build), as it
// carries a sandbox's spec.
package nodebuild

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
)

// KeepAlive is how often a node sends an empty event while a build
// says nothing, and Silence how long the control plane waits for any
// event before it gives the node up: a node whose host vanished (no
// connection reset) fails the build then, not at the build's timeout.
const (
	KeepAlive = 10 * time.Second
	Silence   = 6 * KeepAlive
)

// Request is a build as the control plane sends it to a node.
type Request struct {
	ID    string         `json:"id"`
	Base  Base           `json:"base"`
	Steps []builder.Step `json:"steps"`
	Force bool           `json:"force,omitempty"`
	// Files are the archives of the COPY steps' files hashes, as the
	// control plane put them in object storage: the node fetches these
	// very archives.
	Files   map[string]layer.Blob `json:"files,omitempty"`
	Limits  runtime.Limits        `json:"limits"`
	Timeout time.Duration         `json:"timeout"`
	// Registries are the control plane's registry settings, which the
	// node's builder takes for this build as the server's would.
	Registries Registries `json:"registries"`
}

// Registries are how a build reaches image registries (builder.Config's
// Mirrors, AllowNets and MaxLayerBytes).
type Registries struct {
	Mirrors       []string       `json:"mirrors,omitempty"`
	AllowNets     []netip.Prefix `json:"allowNets,omitempty"`
	MaxLayerBytes int64          `json:"maxLayerBytes,omitempty"`
}

// Base is where the build starts: an image, the base template, or a
// template's layers as any node resolves them.
type Base struct {
	Image    string                  `json:"image,omitempty"`
	Registry *builder.Registry       `json:"registry,omitempty"`
	Default  bool                    `json:"default,omitempty"`
	Layers   []runtime.TemplateLayer `json:"layers,omitempty"`
	Settings builder.Settings        `json:"settings"`
}

// Outcome is how a build on a node ended: its layers and settings, or
// Failure.
type Outcome struct {
	// Layers, topmost first: the layer-store layers by digest with the
	// archive the node uploaded each as, the base template's by place.
	Layers   []runtime.TemplateLayer `json:"layers,omitempty"`
	Settings builder.Settings        `json:"settings"`
	Cached   int                     `json:"cached,omitempty"`
	// Size is the bytes of the layer-store layers on the node's disk.
	Size    int64    `json:"size,omitempty"`
	Failure *Failure `json:"failure,omitempty"`
}

// Failure is a failed build, as builder.StepError.
type Failure struct {
	Step     string   `json:"step"`
	ExitCode int      `json:"exitCode"`
	Tail     []string `json:"tail,omitempty"`
	Message  string   `json:"message"`
}

// failureOf is err as the node reports it.
func failureOf(err error) *Failure {
	var se *builder.StepError
	if errors.As(err, &se) {
		msg := ""
		if se.Err != nil {
			msg = se.Err.Error()
		}
		return &Failure{Step: se.Step, ExitCode: se.ExitCode, Tail: se.Tail, Message: msg}
	}
	return &Failure{Step: "finalize", ExitCode: -1, Message: err.Error()}
}

// err is f as the builder's error on the control plane.
func (f *Failure) err() error {
	return &builder.StepError{Step: f.Step, ExitCode: f.ExitCode, Tail: f.Tail, Err: errors.New(f.Message)}
}

// result checks o, a node's answer, and returns it as the builder's
// result: layer digests and base template places rather than paths, with
// the archives of the digests.
func (o Outcome) result(node string) (builder.Result, error) {
	bad := func(format string, args ...any) (builder.Result, error) {
		return builder.Result{}, fmt.Errorf("node %s answered the build with "+format+": %w", append([]any{node}, append(args, errdefs.ErrUnavailable)...)...)
	}
	if len(o.Layers) == 0 {
		return bad("no layers")
	}
	res := builder.Result{Settings: o.Settings, Cached: o.Cached, Size: o.Size, Blobs: map[string]layer.Blob{}}
	for i, l := range o.Layers {
		switch {
		case l.Digest != "" && l.Base == "":
			blob := layer.Blob{Digest: l.Blob, Size: l.Size}
			if !layer.ValidDigest(l.Digest) || !blob.Valid() {
				return bad("layer %d %q of archive %q, not a layer digest with its archive", i, l.Digest, l.Blob)
			}
			res.Layers = append(res.Layers, l.Digest)
			res.Blobs[l.Digest] = blob
		case l.Base != "" && l.Digest == "" && baseLayerPlace(l.Base):
			res.Layers = append(res.Layers, l.Base)
		default:
			return bad("layer %d %+v, neither a layer digest nor a base template layer", i, l)
		}
	}
	return res, nil
}
