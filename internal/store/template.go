package store

import (
	"context"
	"time"
)

// BuildStatus is where a template build is, in E2B's words.
type BuildStatus string

// The statuses of a build. waiting and building are unfinished; ready and
// error are final.
const (
	BuildWaiting  BuildStatus = "waiting"  // requested, steps not yet received
	BuildBuilding BuildStatus = "building" // steps received, builder running
	BuildReady    BuildStatus = "ready"
	BuildError    BuildStatus = "error"
)

// Finished reports whether s is final.
func (s BuildStatus) Finished() bool { return s == BuildReady || s == BuildError }

// Template is a named sandbox root filesystem a team owns. Its builds are
// the versions of it; its tags point names at builds.
type Template struct {
	ID string
	// Names are the names the template answers to besides its ID (E2B's
	// aliases), unique across all templates; Names[0] is the one it was
	// created with.
	Names     []string
	Team      string
	Public    bool
	CPUCount  int
	MemoryMB  int
	CreatedAt time.Time
	UpdatedAt time.Time
	// Pool is the template's warm pool as set through the API; nil leaves
	// it to the server's configuration.
	Pool *TemplatePool
}

// TemplatePool bounds a template's warm pool.
type TemplatePool struct {
	Min     int      `json:"min"`
	Max     int      `json:"max"`
	Prewarm []string `json:"prewarm,omitempty"`
}

// TemplateBuild is one build of a template: what it was asked to be and,
// once ready, what it is.
type TemplateBuild struct {
	ID         string
	TemplateID string
	Status     BuildStatus
	// Reason says why a build failed; ReasonStep names the step ("base",
	// "0", "1", ..., "finalize") when one is to blame.
	Reason     string
	ReasonStep string
	CPUCount   int
	MemoryMB   int
	// Request is the build request as the client sent it (JSON), kept so
	// that a build's recipe can be read back.
	Request string
	// Result fields, set when the build is ready.
	Layers    []string // topmost first: a layer store's digest, or a path (the base template's; older records: any)
	SizeBytes int64
	Env       map[string]string
	Workdir   string
	User      string
	StartCmd  string
	ReadyCmd  string
	// Source names where the layers come from for builds the registry does
	// not build itself ("debootstrap" for base); empty for ordinary builds.
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
	// StartedAt is when the build began building (StartBuild); zero for
	// a build that never did, such as a snapshot. Its time in the builder,
	// which the team's build minutes count, runs from here to FinishedAt.
	StartedAt  time.Time
	FinishedAt time.Time // zero until finished
}

// TemplateTag points a tag of a template at one of its builds.
type TemplateTag struct {
	TemplateID string
	Tag        string
	BuildID    string
	CreatedAt  time.Time
}

// BuildLogEntry is one line of a build's log.
type BuildLogEntry struct {
	Time    time.Time
	Level   string // debug, info, warn, error
	Step    string
	Message string
}

// DefaultTag is the tag a name without one means, as in E2B.
const DefaultTag = "default"

// Templates stores the template registry: templates, their names, builds,
// tags and build logs.
type Templates interface {
	// CreateTemplate stores a template and its names; a taken id or name is
	// ErrAlreadyExists.
	CreateTemplate(ctx context.Context, t Template) error
	// GetTemplate finds a template by id or by one of its names.
	GetTemplate(ctx context.Context, idOrName string) (Template, error)
	// ListTemplates returns the templates team owns and the public ones
	// (every template when team is empty), by creation time.
	ListTemplates(ctx context.Context, team string) ([]Template, error)
	// SetTemplatePublic changes whether other teams may use the template.
	SetTemplatePublic(ctx context.Context, id string, public bool, at time.Time) error
	// SetTemplatePool sets (nil: clears) the template's warm pool bounds.
	SetTemplatePool(ctx context.Context, id string, pool *TemplatePool, at time.Time) error
	// DeleteTemplate removes a template with its names, builds, tags and
	// logs; the build-usage ledger keeps its builds' spans.
	DeleteTemplate(ctx context.Context, id string) error

	// CreateBuild stores a new build of an existing template.
	CreateBuild(ctx context.Context, b TemplateBuild) error
	// GetBuild returns a build of the template.
	GetBuild(ctx context.Context, templateID, buildID string) (TemplateBuild, error)
	// ListBuilds returns a template's builds by creation time.
	ListBuilds(ctx context.Context, templateID string) ([]TemplateBuild, error)
	// StartBuild moves a waiting build to building with its request; any
	// other status is ErrFailedPrecondition.
	StartBuild(ctx context.Context, templateID, buildID, request string, at time.Time) error
	// FinishBuild records the end of an unfinished build: b's status
	// (ready or error), reason and result fields. When ready, tags move
	// to it in the same transaction. A finished build is
	// ErrFailedPrecondition and stays as it was.
	FinishBuild(ctx context.Context, b TemplateBuild, tags []string, at time.Time) error
	// FailUnfinishedBuilds marks every waiting or building build failed
	// with reason, as at startup after a crash, and returns how many.
	FailUnfinishedBuilds(ctx context.Context, reason string, at time.Time) (int, error)
	// ListBuildUsage returns the build-usage ledger's spans of team's
	// builds that ran at or after since (still running, or finished
	// then), by start time. StartBuild opens a span, FinishBuild and
	// FailUnfinishedBuilds close it, DeleteTemplate closes its builds'
	// open spans and deletes none: a deleted template's builds still
	// count. Spans that ended before BuildWindow are swept.
	ListBuildUsage(ctx context.Context, team string, since time.Time) ([]BuildSpan, error)

	// AppendBuildLogs adds entries to a build's log.
	AppendBuildLogs(ctx context.Context, buildID string, entries []BuildLogEntry) error
	// BuildLogs returns up to limit entries of a build's log from offset.
	BuildLogs(ctx context.Context, buildID string, offset, limit int) ([]BuildLogEntry, error)

	// SetTags points tags of a template at one of its ready builds.
	SetTags(ctx context.Context, templateID, buildID string, tags []string, at time.Time) error
	// DeleteTags removes tags of a template; unknown tags are ErrNotFound
	// and nothing is removed.
	DeleteTags(ctx context.Context, templateID string, tags []string) error
	// ListTags returns a template's tags by name.
	ListTags(ctx context.Context, templateID string) ([]TemplateTag, error)
}
