package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// BuildRequest is E2B's TemplateBuildRequestV3.
type BuildRequest struct {
	Team     string
	Name     string // "name" or "name:tag"
	Tags     []string
	CPUCount int
	MemoryMB int
}

// pending is what a waiting build's Request holds until its steps come.
type pending struct {
	Tags []string `json:"tags"`
}

// RequestBuild registers a new build of the template named in req,
// creating the template if the name is new. A name another team owns is
// ErrAlreadyExists; the default template cannot be rebuilt this way.
func (c *Catalog) RequestBuild(ctx context.Context, req BuildRequest) (store.Template, store.TemplateBuild, []string, error) {
	name, tag, err := splitTag(req.Name)
	if err != nil {
		return store.Template{}, store.TemplateBuild{}, nil, err
	}
	tags := []string{tag}
	for _, t := range req.Tags {
		if err := store.ValidateTag(t); err != nil {
			return store.Template{}, store.TemplateBuild{}, nil, err
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	limits := runtime.Limits{CPUCount: req.CPUCount, MemoryMB: req.MemoryMB}.WithDefaults()
	if err := limits.Validate(); err != nil {
		return store.Template{}, store.TemplateBuild{}, nil, err
	}
	if c.refuseBuilds != nil {
		return store.Template{}, store.TemplateBuild{}, nil, fmt.Errorf("template builds: %w", c.refuseBuilds)
	}
	t, err := c.store.GetTemplate(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
		t = store.Template{ID: newID("tpl"), Names: []string{name}, Team: req.Team, CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB}
		if err := c.store.CreateTemplate(ctx, t); err != nil {
			return store.Template{}, store.TemplateBuild{}, nil, err
		}
		if t, err = c.store.GetTemplate(ctx, t.ID); err != nil {
			return store.Template{}, store.TemplateBuild{}, nil, err
		}
	case err != nil:
		return store.Template{}, store.TemplateBuild{}, nil, err
	case t.ID == BaseID:
		return store.Template{}, store.TemplateBuild{}, nil, fmt.Errorf("template %q is the default template, built by the server (soulbox template build base --rebuild); choose another name: %w", name, errdefs.ErrAlreadyExists)
	case t.Team != req.Team:
		return store.Template{}, store.TemplateBuild{}, nil, fmt.Errorf("template name %q is taken by another team; choose another name: %w", name, errdefs.ErrAlreadyExists)
	}
	p, _ := json.Marshal(pending{Tags: tags})
	b := store.TemplateBuild{ID: newID("bld"), TemplateID: t.ID, Status: store.BuildWaiting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, Request: string(p)}
	if err := c.store.CreateBuild(ctx, b); err != nil {
		return store.Template{}, store.TemplateBuild{}, nil, err
	}
	return t, b, tags, nil
}
