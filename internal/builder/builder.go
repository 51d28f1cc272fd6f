// Package builder builds template root filesystems on a node: it pulls a
// base (an OCI image, or the layers of an existing template), runs the
// build's steps (RUN, COPY, ENV, WORKDIR, USER, as E2B's SDKs send them)
// and returns the resulting stack of read-only layers. RUN steps execute in
// a build sandbox made by the runtime driver, with a sandbox's isolation
// and limits. Every step that changes files yields one layer, keyed by its
// parent, the step and the files it copied, so an unchanged rebuild is
// served from the layer store.
package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Builder builds templates. The control plane owns this interface; the
// node implements it.
type Builder interface {
	Build(ctx context.Context, req Request, log Log) (Result, error)
}

// Log receives a build's output line by line; step is "base", the step's
// index, or "finalize", as E2B reports them.
type Log func(level, step, message string)

// Registry holds credentials for pulling from a private registry.
type Registry struct {
	Username string
	Password string
}

// Step is one build instruction, as E2B's TemplateStep.
type Step struct {
	Type      string   `json:"type"`
	Args      []string `json:"args"`
	FilesHash string   `json:"filesHash,omitempty"`
	Force     bool     `json:"force,omitempty"`
}

// Base is where a build starts: either an OCI image or a stack of layers
// (another template's) with its configuration.
type Base struct {
	Image    string
	Registry *Registry
	// Layers are absolute paths, topmost first, when building on a
	// template; Settings are that template's.
	Layers   []string
	Settings Settings
	// For a build on another node (a control plane's builder that
	// places builds on its joined nodes), the base as any node resolves
	// it, instead of Layers: Default for the base template, which every
	// node builds itself, else NodeLayers (layer-store layers by digest
	// and archive, base template layers by their place).
	Default    bool
	NodeLayers []runtime.TemplateLayer
}

// Settings are what a template sets for the processes of its sandboxes.
type Settings struct {
	Env     map[string]string
	Workdir string
	User    string
}

// Request is one build.
type Request struct {
	ID    string // names the build's sandboxes and logs
	Base  Base
	Steps []Step
	// Force rebuilds every step instead of taking it from the cache.
	Force bool
	// Files opens the tar archive (gzipped or not) uploaded for a COPY
	// step's files hash.
	Files func(hash string) (io.ReadCloser, error)
	// Limits bound each build sandbox; Timeout the whole build.
	Limits  runtime.Limits
	Timeout time.Duration
}

// Result is a built template.
type Result struct {
	// Layers are absolute paths, topmost first.
	Layers   []string
	Settings Settings
	// Cached counts the steps served from the layer store.
	Cached int
	// For a build on another node, Layers are layer digests and base
	// template places ("base/<version>/rootfs") rather than paths of
	// this host; Blobs are the archives the digests are in object
	// storage, which the node uploaded; Size the bytes of those layers.
	Blobs map[string]layer.Blob
	Size  int64
}

// StepError is a step that failed; the build status reports it.
type StepError struct {
	Step     string // "base", an index, or "finalize"
	ExitCode int    // of a RUN step; -1 when not applicable
	Tail     []string
	Err      error
}

func (e *StepError) Error() string {
	if e.ExitCode >= 0 {
		msg := fmt.Sprintf("step %s failed: command exited with code %d", e.Step, e.ExitCode)
		if len(e.Tail) > 0 {
			msg += ": " + strings.Join(e.Tail, "\n")
		}
		return Printable(msg)
	}
	return Printable(fmt.Sprintf("step %s failed: %v", e.Step, e.Err))
}

func (e *StepError) Unwrap() error { return e.Err }

// Driver is what the builder needs of the runtime: sandboxes, and the
// directory where a stopped sandbox's changes are.
type Driver interface {
	runtime.Driver
	WritableLayer(ctx context.Context, id string) (dir string, hostUID uint32, err error)
}

// Config configures a Node builder.
type Config struct {
	Layers *layer.Store
	Driver Driver
	// Stacks is where build sandboxes' root filesystems are registered,
	// for the driver's template resolver to find.
	Stacks *Stacks
	// Mirrors are tried before Docker Hub for Docker Hub images, as
	// Docker's registry-mirrors ("http://127.0.0.1:5000").
	Mirrors []string
	// MaxLayerBytes bounds one image layer, uncompressed; 0 means
	// DefaultMaxLayerBytes.
	MaxLayerBytes int64
	// AllowNets are private or reserved ranges registries named by builds
	// may be at all the same (a registry on the host's network). Builds
	// reach no other such address; mirrors are exempt.
	AllowNets []netip.Prefix
	Logger    *slog.Logger
}

// Node is the builder that runs on this host.
type Node struct {
	layers    *layer.Store
	driver    Driver
	stacks    *Stacks
	mirrors   []string
	maxLayer  int64
	allowNets []netip.Prefix
	log       *slog.Logger
}

var _ Builder = (*Node)(nil)

// New returns a node builder.
func New(cfg Config) *Node {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	maxLayer := cfg.MaxLayerBytes
	if maxLayer <= 0 {
		maxLayer = DefaultMaxLayerBytes
	}
	return &Node{layers: cfg.Layers, driver: cfg.Driver, stacks: cfg.Stacks, mirrors: cfg.Mirrors, maxLayer: maxLayer, allowNets: cfg.AllowNets, log: l}
}

// key hashes the parts of a cache key into a layer digest.
func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return "key-" + hex.EncodeToString(h.Sum(nil))
}
