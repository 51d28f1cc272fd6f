package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// TemplatesConfig is what the template API is built from.
type TemplatesConfig struct {
	Catalog *catalog.Catalog
	// Team returns the team of an authenticated request.
	Team func(r *http.Request) string
	// Admin reports whether a request carries an admin key; nil: never.
	Admin func(r *http.Request) bool
	Log   *slog.Logger
	// Pools shows templates' warm pools; nil when the server has none.
	Pools PoolView
}

// Templates serves E2B's template build API: templates, builds, their
// files, logs, tags and aliases.
type Templates struct {
	cat   *catalog.Catalog
	team  func(r *http.Request) string
	admin func(r *http.Request) bool
	api   *API // for the shared error writer
	pools PoolView
}

// NewTemplates returns the template API.
func NewTemplates(cfg TemplatesConfig) *Templates {
	team := cfg.Team
	if team == nil {
		team = func(*http.Request) string { return "default" }
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	admin := cfg.Admin
	if admin == nil {
		admin = func(*http.Request) bool { return false }
	}
	return &Templates{cat: cfg.Catalog, team: team, admin: admin, api: &API{log: log}, pools: cfg.Pools}
}

// UploadPrefix is the path upload URLs start with. Uploads carry their own
// token instead of an API key, as E2B's presigned URLs do, so the server
// routes this prefix around authentication.
const UploadPrefix = "/template-uploads/"

// Register adds the routes that need an API key.
func (t *Templates) Register(mux Router) {
	mux.HandleFunc("POST /v3/templates", t.requestBuild)
	mux.HandleFunc("GET /templates/{id}/files/{hash}", t.fileUpload)
	mux.HandleFunc("POST /v2/templates/{id}/builds/{buildID}", t.startBuild)
	mux.HandleFunc("GET /templates/{id}/builds/{buildID}/status", t.buildStatus)
	mux.HandleFunc("GET /templates/{id}/builds/{buildID}/logs", t.buildLogs)
	mux.HandleFunc("GET /templates", t.list)
	mux.HandleFunc("GET /templates/{id}", t.get)
	mux.HandleFunc("DELETE /templates/{id}", t.delete)
	mux.HandleFunc("PATCH /templates/{id}", t.update)
	mux.HandleFunc("PATCH /v2/templates/{id}", t.update)
	mux.HandleFunc("POST /templates/tags", t.assignTags)
	mux.HandleFunc("DELETE /templates/tags", t.removeTags)
	// GET /templates/{id}/tags and GET /templates/aliases/{alias} overlap
	// as patterns ("aliases/tags"); one handler tells them apart.
	mux.HandleFunc("GET /templates/{a}/{b}", t.tagsOrAlias)
	mux.HandleFunc("GET /templates/{id}/pool", t.getPool)
	mux.HandleFunc("PUT /templates/{id}/pool", t.setPool)
	mux.HandleFunc("DELETE /templates/{id}/pool", t.resetPool)
	for _, p := range []string{"/templates", "/templates/", "/v2/templates/", "/v3/templates"} {
		mux.HandleFunc(p, t.api.noRoute)
	}
}

// RegisterUploads adds the upload route, which takes no API key.
func (t *Templates) RegisterUploads(mux Router) {
	mux.HandleFunc("PUT "+UploadPrefix+"{token}", t.upload)
}

// templateBody is E2B's Template.
type templateBody struct {
	TemplateID    string     `json:"templateID"`
	BuildID       string     `json:"buildID"`
	CPUCount      int        `json:"cpuCount"`
	MemoryMB      int        `json:"memoryMB"`
	DiskSizeMB    int        `json:"diskSizeMB"`
	Public        bool       `json:"public"`
	Aliases       []string   `json:"aliases"`
	Names         []string   `json:"names"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	CreatedBy     *struct{}  `json:"createdBy"`
	LastSpawnedAt *time.Time `json:"lastSpawnedAt"`
	SpawnCount    int64      `json:"spawnCount"`
	BuildCount    int        `json:"buildCount"`
	EnvdVersion   string     `json:"envdVersion"`
	BuildStatus   string     `json:"buildStatus"`
	// SizeBytes is SoulBox's: the disk the template's own layers use.
	SizeBytes int64 `json:"sizeBytes"`
}

func templateJSON(i catalog.Info) templateBody {
	names := i.Template.Names
	if names == nil {
		names = []string{}
	}
	out := templateBody{
		TemplateID: i.Template.ID, CPUCount: i.Template.CPUCount, MemoryMB: i.Template.MemoryMB,
		DiskSizeMB: runtime.DefaultDiskMB, Public: i.Template.Public, Aliases: names, Names: names,
		CreatedAt: i.Template.CreatedAt, UpdatedAt: i.Template.UpdatedAt, BuildCount: len(i.Builds),
		EnvdVersion: EnvdVersion, BuildStatus: string(store.BuildWaiting),
	}
	if b, ok := i.Latest(); ok {
		out.BuildID, out.BuildStatus, out.SizeBytes = b.ID, string(b.Status), b.SizeBytes
	}
	return out
}

// buildBody is E2B's TemplateBuild.
type buildBody struct {
	BuildID     string     `json:"buildID"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	CPUCount    int        `json:"cpuCount"`
	MemoryMB    int        `json:"memoryMB"`
	DiskSizeMB  int        `json:"diskSizeMB"`
	EnvdVersion string     `json:"envdVersion"`
	// SoulBox's: why it failed, and the disk its layers use.
	Reason    string `json:"reason,omitempty"`
	SizeBytes int64  `json:"sizeBytes"`
}

func buildJSON(b store.TemplateBuild) buildBody {
	out := buildBody{BuildID: b.ID, Status: string(b.Status), CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt,
		CPUCount: b.CPUCount, MemoryMB: b.MemoryMB, DiskSizeMB: runtime.DefaultDiskMB, EnvdVersion: EnvdVersion,
		Reason: b.Reason, SizeBytes: b.SizeBytes}
	if !b.FinishedAt.IsZero() {
		f := b.FinishedAt
		out.FinishedAt = &f
	}
	return out
}
