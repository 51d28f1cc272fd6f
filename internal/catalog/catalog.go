// Package catalog is the control plane's template registry: it keeps
// templates, their names, builds and tags in the store, resolves the name
// a sandbox is created from to the layers the runtime stacks, accepts the
// files and steps of E2B's build API, runs builds on the node's Builder and
// records their logs and outcome. The default template "base" is an
// ordinary row whose layers the debootstrap recipe (package template)
// provides.
package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// BaseID is the default template's id; it also answers to BaseAliases.
const BaseID = "base"

// BaseAliases are the E2B names the default template answers to.
var BaseAliases = []string{"code-interpreter-v1"}

// DefaultImage is E2B's default base image (the SDK's fromBaseImage() and
// a Dockerfile without FROM); it means SoulBox's default template.
const DefaultImage = "e2bdev/base"

// sourceDebootstrap marks builds whose layers the base recipe provides.
const sourceDebootstrap = "debootstrap"

// BaseLayers provides the default template's layers (package template's
// Store).
type BaseLayers interface {
	Layers(ctx context.Context, name string) ([]string, error)
}

// Config configures a Catalog.
type Config struct {
	Store   store.Store
	Base    BaseLayers
	Builder builder.Builder
	Stacks  *builder.Stacks
	Layers  *layer.Store
	// Dir keeps uploaded build files.
	Dir string
	// BuildTimeout bounds one build; 0 means 30 minutes.
	BuildTimeout time.Duration
	// Limits bound what teams may ask; zero fields take the defaults.
	Limits Limits
	Log    *slog.Logger
	// Refuse, when set, answers every pool change once its request is
	// checked: the server has no runtime of its own to fill pools in.
	Refuse error
	// RefuseBuilds, when set, answers every build so: nowhere to build.
	RefuseBuilds error
	// BuildsOnNodes: the builder runs builds on other nodes
	// (nodebuild.Builder), which are given a template base as any node
	// resolves it (NodeLayers) and answer with layers by digest and the
	// archives they uploaded them as.
	BuildsOnNodes bool
	// Blobs, when set, is the object storage that joined nodes keep
	// their sandboxes' snapshots in (CreateNodeSnapshot): a snapshot's
	// blob is deleted there with the last snapshot naming it.
	Blobs BlobDeleter
}

// Catalog is the template registry.
type Catalog struct {
	store   store.Store
	base    BaseLayers
	builder builder.Builder
	stacks  *builder.Stacks
	layers  *layer.Store
	files   string
	timeout time.Duration
	limits  Limits
	log     *slog.Logger

	mu     sync.Mutex
	cancel map[string]context.CancelFunc // running builds
	wg     sync.WaitGroup
	upMu   sync.Mutex
	// poolMu serialises pool changes, so two of one team's never pass
	// the team's pool ceiling together.
	poolMu  sync.Mutex
	uploads map[string]upload // upload URL tokens
	// buildMu serialises layer removal with builds that may reuse layers.
	buildMu sync.RWMutex
	// holds make a template's deletes exclusive with creates resolving
	// it.
	holds templateLocks
	// filesMu guards the uploaded files' quota checks and collection;
	// filesRefs counts the builds using each archive.
	filesMu   sync.Mutex
	filesRefs map[string]int
	pools     Pools // nil without a warm pool
	refuse    error // Config.Refuse
	// refuseBuilds and onNodes are Config.RefuseBuilds and
	// BuildsOnNodes.
	refuseBuilds error
	onNodes      bool
	blobs        BlobDeleter // Config.Blobs
}

// New opens the catalog: the default template is registered if missing,
// and builds a previous process left unfinished are marked failed.
func New(ctx context.Context, cfg Config) (*Catalog, error) {
	c := &Catalog{
		store: cfg.Store, base: cfg.Base, builder: cfg.Builder, stacks: cfg.Stacks, layers: cfg.Layers,
		files: cfg.Dir, timeout: cfg.BuildTimeout, limits: cfg.Limits.withDefaults(), log: cfg.Log, cancel: map[string]context.CancelFunc{}, uploads: map[string]upload{}, filesRefs: map[string]int{},
		refuse: cfg.Refuse, refuseBuilds: cfg.RefuseBuilds, onNodes: cfg.BuildsOnNodes, blobs: cfg.Blobs,
	}
	if c.timeout == 0 {
		c.timeout = 30 * time.Minute
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.stacks == nil {
		c.stacks = &builder.Stacks{}
	}
	if err := os.MkdirAll(c.files, 0o700); err != nil {
		return nil, fmt.Errorf("template files directory: %w", err)
	}
	if err := sweepUploads(c.files); err != nil {
		return nil, err
	}
	if err := c.collectAllFiles(time.Now()); err != nil {
		return nil, err
	}
	if n, err := c.store.FailUnfinishedBuilds(ctx, "the server stopped while the build ran; start it again", time.Time{}); err != nil {
		return nil, err
	} else if n > 0 {
		c.log.Warn("marked interrupted template builds failed", slog.Int("builds", n))
	}
	if c.layers != nil {
		if err := c.layers.Sweep(); err != nil {
			return nil, err
		}
	}
	if err := c.ensureBase(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ensureBase registers the default template as an ordinary template with
// one ready build whose layers come from the debootstrap recipe.
func (c *Catalog) ensureBase(ctx context.Context) error {
	if _, err := c.store.GetTemplate(ctx, BaseID); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	t := store.Template{ID: BaseID, Names: append([]string{BaseID}, BaseAliases...), Team: "", Public: true,
		CPUCount: runtime.DefaultCPUCount, MemoryMB: runtime.DefaultMemoryMB}
	if err := c.store.CreateTemplate(ctx, t); err != nil && !errdefs.IsAlreadyExists(err) {
		return err
	}
	b := store.TemplateBuild{ID: "base-debootstrap", TemplateID: BaseID, Status: store.BuildWaiting,
		CPUCount: t.CPUCount, MemoryMB: t.MemoryMB, Source: sourceDebootstrap, User: "user"}
	if err := c.store.CreateBuild(ctx, b); err != nil && !errdefs.IsAlreadyExists(err) {
		return err
	}
	b.Status = store.BuildReady
	if err := c.store.FinishBuild(ctx, b, []string{store.DefaultTag}, time.Time{}); err != nil && !errdefs.IsFailedPrecondition(err) {
		return err
	}
	return nil
}

// UseBuilder sets the builder builds run on.
func (c *Catalog) UseBuilder(b builder.Builder) { c.builder = b }

// Close cancels the running builds and waits for them to record their
// end.
func (c *Catalog) Close() {
	c.mu.Lock()
	for _, cancel := range c.cancel {
		cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// splitTag splits "name:tag" into its parts; a name without a tag means
// the default tag.
func splitTag(ref string) (string, string, error) {
	name, tag, has := strings.Cut(ref, ":")
	if !has {
		tag = store.DefaultTag
	}
	// E2B names may carry a team namespace ("team/name"); there is one
	// namespace per server here, so it is dropped.
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if err := store.ValidateTemplateName(name); err != nil {
		return "", "", err
	}
	if err := store.ValidateTag(tag); err != nil {
		return "", "", err
	}
	return name, tag, nil
}

// resolve finds the template and the build ref names.
func (c *Catalog) resolve(ctx context.Context, ref string) (store.Template, store.TemplateBuild, error) {
	if id, build, ok := strings.Cut(ref, buildRefSep); ok {
		return c.resolveBuild(ctx, id, build)
	}
	name, tag, err := splitTag(ref)
	if err != nil {
		return store.Template{}, store.TemplateBuild{}, err
	}
	t, err := c.store.GetTemplate(ctx, name)
	if err != nil {
		return t, store.TemplateBuild{}, err
	}
	tags, err := c.store.ListTags(ctx, t.ID)
	if err != nil {
		return t, store.TemplateBuild{}, err
	}
	for _, tg := range tags {
		if tg.Tag == tag {
			b, err := c.store.GetBuild(ctx, t.ID, tg.BuildID)
			return t, b, err
		}
	}
	if tag == store.DefaultTag {
		return t, store.TemplateBuild{}, fmt.Errorf("template %q has no successful build yet: %w", name, errdefs.ErrFailedPrecondition)
	}
	return t, store.TemplateBuild{}, fmt.Errorf("template %q has no tag %q: %w", name, tag, errdefs.ErrNotFound)
}

// Resolve returns the id of the template ref ("name", "name:tag" or an
// id) names, if it has a ready build: the lifecycle's check before a
// sandbox is recorded.
func (c *Catalog) Resolve(ref string) (string, error) {
	t, _, err := c.resolve(context.Background(), ref)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// Usable says whether team may start sandboxes from the template ref
// names: its own templates, public ones and the server's (no team). A
// private template of another team is ErrNotFound, as if it did not
// exist, so its name tells nothing.
func (c *Catalog) Usable(ctx context.Context, team, ref string) error {
	name, _, err := splitTag(ref)
	if err != nil {
		return err
	}
	_, err = c.visible(ctx, team, name)
	return err
}

// Layers returns the layers of the template ref names, topmost first: the
// runtime driver's template resolver. Build sandboxes' stacks come first.
func (c *Catalog) Layers(ctx context.Context, ref string) ([]string, error) {
	if l, ok := c.stacks.Layers(ref); ok {
		return l, nil
	}
	_, b, err := c.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.buildLayers(ctx, b)
}

func (c *Catalog) buildLayers(ctx context.Context, b store.TemplateBuild) ([]string, error) {
	if b.Source == sourceDebootstrap {
		return c.base.Layers(ctx, BaseID)
	}
	if len(b.Layers) == 0 {
		return nil, fmt.Errorf("build %s of template %q has no layers: %w", b.ID, b.TemplateID, errdefs.ErrFailedPrecondition)
	}
	trees := 0
	if b.Source == sourceSnapshot {
		trees = 1 // its files, named by their tree digest
	}
	return c.localLayers(ctx, b.Layers, trees)
}

// Sandbox is what a template asks of the sandboxes made from it.
type Sandbox struct {
	Env      map[string]string
	Workdir  string
	User     string
	StartCmd string
	ReadyCmd string
}

// SandboxSettings returns the settings of the template ref names.
func (c *Catalog) SandboxSettings(ctx context.Context, ref string) (Sandbox, error) {
	_, b, err := c.resolve(ctx, ref)
	if err != nil {
		return Sandbox{}, err
	}
	return Sandbox{Env: b.Env, Workdir: b.Workdir, User: b.User, StartCmd: b.StartCmd, ReadyCmd: b.ReadyCmd}, nil
}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// filesPath is where the archive team uploaded for hash is kept: each
// team has its own directory, named by a hash of the team so that any
// team name makes a safe file name.
func (c *Catalog) filesPath(team, hash string) string {
	t := sha256.Sum256([]byte(team))
	return filepath.Join(c.files, "team-"+hex.EncodeToString(t[:16]), hash+".tar")
}
