package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// RegistryAuth is E2B's FromImageRegistry.
type RegistryAuth struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// BuildSpec is E2B's TemplateBuildStartV2.
type BuildSpec struct {
	FromImage         string         `json:"fromImage,omitempty"`
	FromTemplate      string         `json:"fromTemplate,omitempty"`
	FromImageRegistry *RegistryAuth  `json:"fromImageRegistry,omitempty"`
	Force             bool           `json:"force,omitempty"`
	Steps             []builder.Step `json:"steps"`
	StartCmd          string         `json:"startCmd,omitempty"`
	ReadyCmd          string         `json:"readyCmd,omitempty"`
	Tags              []string       `json:"tags,omitempty"`
}

// knownSteps are the step types the builder runs.
var knownSteps = map[string]bool{"RUN": true, "COPY": true, "ENV": true, "WORKDIR": true, "USER": true}

// StartBuild checks spec and starts the waiting build buildID of template
// templateID in the background. Bad input is refused before anything
// changes; the build's outcome is read with Status.
func (c *Catalog) StartBuild(ctx context.Context, team, templateID, buildID string, spec BuildSpec) error {
	t, err := c.owned(ctx, team, templateID)
	if err != nil {
		return err
	}
	b, err := c.store.GetBuild(ctx, t.ID, buildID)
	if err != nil {
		return err
	}
	if b.Status != store.BuildWaiting {
		return fmt.Errorf("build %s is %s; request a new build with POST /v3/templates: %w", buildID, b.Status, errdefs.ErrFailedPrecondition)
	}
	if c.refuseBuilds != nil {
		return fmt.Errorf("template builds: %w", c.refuseBuilds)
	}
	// The build's files are kept from collection from before they are
	// checked until the build ends.
	var hashes []string
	for _, st := range spec.Steps {
		if strings.EqualFold(st.Type, "COPY") && hashRE.MatchString(st.FilesHash) {
			hashes = append(hashes, st.FilesHash)
		}
	}
	releaseFiles := c.referFiles(t.Team, hashes)
	started := false
	defer func() {
		if !started {
			releaseFiles()
		}
	}()
	base, err := c.checkSpec(ctx, team, spec)
	if err != nil {
		return err
	}
	var p pending
	_ = json.Unmarshal([]byte(b.Request), &p)
	spec.Tags = p.Tags
	raw, err := json.Marshal(redacted(spec))
	if err != nil {
		return err
	}
	left, limited, q, err := c.admitBuild(ctx, t.Team)
	if err != nil {
		return err
	}
	if err := c.store.StartBuild(ctx, t.ID, buildID, string(raw), time.Time{}); err != nil {
		return err
	}
	qctx, stopQuota := withBuildMinutes(context.WithoutCancel(ctx), left, limited, q)
	bctx, cancel := context.WithCancel(qctx)
	c.mu.Lock()
	c.cancel[buildID] = cancel
	c.mu.Unlock()
	c.wg.Add(1)
	started = true
	go func() {
		defer c.wg.Done()
		defer releaseFiles()
		defer func() {
			c.mu.Lock()
			delete(c.cancel, buildID)
			c.mu.Unlock()
			cancel()
			stopQuota()
		}()
		c.run(bctx, t.Team, b, base, spec)
	}()
	return nil
}

// redacted is spec without registry secrets, as it is kept in the store.
func redacted(spec BuildSpec) BuildSpec {
	if spec.FromImageRegistry != nil {
		r := *spec.FromImageRegistry
		if r.Password != "" {
			r.Password = "(redacted)"
		}
		spec.FromImageRegistry = &r
	}
	return spec
}

// checkSpec refuses a spec the builder could not start, and resolves its
// base.
func (c *Catalog) checkSpec(ctx context.Context, team string, spec BuildSpec) (builder.Base, error) {
	bad := func(format string, args ...any) (builder.Base, error) {
		return builder.Base{}, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	for i, st := range spec.Steps {
		if !knownSteps[strings.ToUpper(st.Type)] {
			return bad("step %d: type %q is not supported (RUN, COPY, ENV, WORKDIR, USER are)", i+1, st.Type)
		}
		if strings.EqualFold(st.Type, "COPY") {
			rc, err := c.openFiles(team, st.FilesHash)
			if err != nil {
				return bad("step %d (COPY %s): %v", i+1, strings.Join(st.Args, " "), err)
			}
			rc.Close()
		}
	}
	var base builder.Base
	from := spec.FromTemplate
	switch {
	case spec.FromImage != "" && spec.FromTemplate != "":
		return bad("give fromImage or fromTemplate, not both")
	case spec.FromImage == "" && spec.FromTemplate == "":
		from = BaseID // E2B's default base image
	case spec.FromImage == DefaultImage || strings.HasPrefix(spec.FromImage, DefaultImage+":") ||
		strings.HasPrefix(spec.FromImage, "docker.io/"+DefaultImage):
		from = BaseID
	case spec.FromImage != "":
		base.Image = spec.FromImage
		if r := spec.FromImageRegistry; r != nil {
			if r.Type != "registry" {
				return bad("fromImageRegistry type %q is not supported: use type \"registry\" with a username and password", r.Type)
			}
			base.Registry = &builder.Registry{Username: r.Username, Password: r.Password}
		}
		return base, nil
	}
	pt, pb, err := c.resolve(ctx, from)
	if err != nil {
		return bad("fromTemplate %q: %v", from, err)
	}
	if pt.Team != team && !pt.Public && pt.Team != "" {
		return bad("fromTemplate %q: not a template of your team", from)
	}
	base.Settings = builder.Settings{Env: pb.Env, Workdir: pb.Workdir, User: pb.User}
	if c.onNodes {
		// The node resolves the base itself, as for a create.
		if pb.Source == sourceDebootstrap {
			base.Default = true
			return base, nil
		}
		if base.NodeLayers, err = c.nodeLayers(ctx, from, pb); err != nil {
			return builder.Base{}, err
		}
		return base, nil
	}
	layers, err := c.buildLayers(ctx, pb)
	if err != nil {
		return builder.Base{}, err
	}
	base.Layers = layers
	return base, nil
}

// run builds and records the outcome. It never returns an error: whatever
// happens ends in the build's status.
func (c *Catalog) run(ctx context.Context, team string, b store.TemplateBuild, base builder.Base, spec BuildSpec) {
	log := c.log.With(logx.Template(b.TemplateID), slog.String("build", b.ID))
	bg := context.WithoutCancel(ctx)
	blog := newBuildLog(c.store, b.ID, log)
	logf := blog.add
	start := time.Now()
	log.Info("template build started")
	// Held until the outcome is recorded: until then the layers the build
	// made or reused are referred to by no build, and must not be
	// collected.
	c.buildMu.RLock()
	res, err := c.builder.Build(ctx, builder.Request{
		ID: b.ID, Base: base, Steps: spec.Steps, Force: spec.Force,
		Files:   func(hash string) (io.ReadCloser, error) { return c.openFiles(team, hash) },
		Limits:  runtime.Limits{CPUCount: b.CPUCount, MemoryMB: b.MemoryMB},
		Timeout: c.timeout,
	}, logf)
	done := b
	if err != nil {
		done.Status = store.BuildError
		done.Reason = err.Error()
		var se *builder.StepError
		if errors.As(err, &se) {
			done.ReasonStep = se.Step
		}
		if errors.Is(err, context.Canceled) {
			done.Reason = "the build was cancelled"
		}
		if cause := context.Cause(ctx); errors.Is(cause, errBuildMinutes) {
			done.Reason, done.ReasonStep = cause.Error(), ""
		}
		done.Reason, done.ReasonStep = builder.Printable(done.Reason), builder.Printable(done.ReasonStep)
		logf("error", done.ReasonStep, done.Reason)
		log.Warn("template build failed", logx.Err(err), slog.Duration("took", time.Since(start)))
	} else {
		done.Status = store.BuildReady
		done.Layers = c.recordedLayers(res.Layers)
		done.Env = res.Settings.Env
		done.Workdir, done.User = res.Settings.Workdir, res.Settings.User
		done.StartCmd, done.ReadyCmd = spec.StartCmd, spec.ReadyCmd
		done.SizeBytes = c.size(res.Layers)
		if res.Blobs != nil {
			done.SizeBytes = res.Size
		}
		if err := c.admitDisk(bg, team, done.SizeBytes); err != nil {
			// What it made stays unreferenced, and is collected.
			done = b
			done.Status, done.ReasonStep = store.BuildError, "finalize"
			done.Reason = builder.Printable(err.Error())
			logf("error", done.ReasonStep, done.Reason)
			log.Warn("template build over its team's disk quota", logx.Err(err))
		} else if err := c.recordBlobs(bg, res.Blobs); err != nil {
			done = b
			done.Status, done.ReasonStep = store.BuildError, "finalize"
			done.Reason = builder.Printable(err.Error())
			logf("error", done.ReasonStep, done.Reason)
			log.Error("record the archives of a build's layers", logx.Err(err))
		} else {
			logf("info", "finalize", fmt.Sprintf("build finished in %s (%d steps cached)", time.Since(start).Round(time.Millisecond), res.Cached))
			log.Info("template built", slog.Duration("took", time.Since(start)), slog.Int("cached", res.Cached))
		}
	}
	// The whole log is stored before the status says the build ended:
	// the SDK stops reading logs once it sees the end.
	blog.close()
	recorded := c.finish(ctx, done, spec.Tags, log)
	c.buildMu.RUnlock()
	if !recorded {
		return
	}
	// The template's pool is filled from the new build, after its status
	// is ready: a create meanwhile is served cold.
	if done.Status == store.BuildReady && c.pools != nil {
		if t, err := c.store.GetTemplate(bg, b.TemplateID); err == nil {
			c.pools.Rebuilt(bg, t)
		}
	}
}

// finishAttempts is how often the end of a build is offered to the store
// before it is given up on (the next start marks it failed).
const finishAttempts = 5

// finish records the end of build done and reports whether it was
// recorded as done says. A build must not stay "building" because its
// outcome could not be stored: when the store refuses it, the build is
// recorded as failed with a plain reason, and the store is asked again a
// few times, until ctx ends, while it is unavailable (a build left
// unrecorded is marked failed at the next start).
func (c *Catalog) finish(ctx context.Context, done store.TemplateBuild, tags []string, log *slog.Logger) bool {
	bg := context.WithoutCancel(ctx)
	err := c.store.FinishBuild(bg, done, tags, time.Time{})
	if err == nil {
		return true
	}
	log.Error("record template build", logx.Err(err))
	if errdefs.IsFailedPrecondition(err) { // it ended already
		return false
	}
	failed := store.TemplateBuild{ID: done.ID, TemplateID: done.TemplateID, Status: store.BuildError,
		ReasonStep: "finalize", Reason: "the build's outcome could not be recorded; see the server log"}
	wait := 100 * time.Millisecond
	for i := 0; i < finishAttempts; i++ {
		err := c.store.FinishBuild(bg, failed, nil, time.Time{})
		if err == nil || errdefs.IsFailedPrecondition(err) {
			return false
		}
		log.Error("record template build as failed", logx.Err(err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait *= 2
	}
	return false
}

// size sums the sizes of the layers the layer store holds (the default
// template's, which the recipe owns, are not counted).
func (c *Catalog) size(layers []string) int64 {
	var total int64
	for _, l := range layers {
		if c.layers == nil || !strings.HasPrefix(l, c.layers.Dir()+"/") {
			continue
		}
		if n, err := c.layers.Size(strings.TrimPrefix(l, c.layers.Dir()+"/")); err == nil {
			total += n
		}
	}
	return total
}
