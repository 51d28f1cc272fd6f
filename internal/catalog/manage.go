package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// owned returns the template idOrName names if team may change it.
func (c *Catalog) owned(ctx context.Context, team, idOrName string) (store.Template, error) {
	t, err := c.store.GetTemplate(ctx, idOrName)
	if err != nil {
		return t, err
	}
	if t.Team != team {
		if t.Public || t.Team == "" {
			return t, fmt.Errorf("template %q belongs to another team: %w", idOrName, errdefs.ErrPermissionDenied)
		}
		// Another team's private template is not there for this one.
		return t, fmt.Errorf("template %q: %w", idOrName, errdefs.ErrNotFound)
	}
	return t, nil
}

// visible returns the template idOrName names if team may see it.
func (c *Catalog) visible(ctx context.Context, team, idOrName string) (store.Template, error) {
	t, err := c.store.GetTemplate(ctx, idOrName)
	if err != nil {
		return t, err
	}
	if t.Team != team && !t.Public && t.Team != "" {
		return t, fmt.Errorf("template %q: %w", idOrName, errdefs.ErrNotFound)
	}
	return t, nil
}

// Info is a template with its builds and tags.
type Info struct {
	Template store.Template
	Builds   []store.TemplateBuild
	Tags     []store.TemplateTag
}

// Latest is the newest ready build, or the newest build if none is ready.
func (i Info) Latest() (store.TemplateBuild, bool) {
	for j := len(i.Builds) - 1; j >= 0; j-- {
		if i.Builds[j].Status == store.BuildReady {
			return i.Builds[j], true
		}
	}
	if len(i.Builds) > 0 {
		return i.Builds[len(i.Builds)-1], true
	}
	return store.TemplateBuild{}, false
}

func (c *Catalog) info(ctx context.Context, t store.Template) (Info, error) {
	builds, err := c.store.ListBuilds(ctx, t.ID)
	if err != nil {
		return Info{}, err
	}
	tags, err := c.store.ListTags(ctx, t.ID)
	if err != nil {
		return Info{}, err
	}
	return Info{Template: t, Builds: builds, Tags: tags}, nil
}

// Get returns the template idOrName names, as team sees it.
func (c *Catalog) Get(ctx context.Context, team, idOrName string) (Info, error) {
	t, err := c.visible(ctx, team, idOrName)
	if err != nil {
		return Info{}, err
	}
	return c.info(ctx, t)
}

// List returns the templates team owns and the public ones.
func (c *Catalog) List(ctx context.Context, team string) ([]Info, error) {
	ts, err := c.store.ListTemplates(ctx, team)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ts))
	for _, t := range ts {
		i, err := c.info(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// Status returns a build and up to limit entries of its log from offset.
func (c *Catalog) Status(ctx context.Context, team, templateID, buildID string, offset, limit int) (store.TemplateBuild, []store.BuildLogEntry, error) {
	t, err := c.visible(ctx, team, templateID)
	if err != nil {
		return store.TemplateBuild{}, nil, err
	}
	b, err := c.store.GetBuild(ctx, t.ID, buildID)
	if err != nil {
		return b, nil, err
	}
	logs, err := c.store.BuildLogs(ctx, buildID, offset, limit)
	return b, logs, err
}

// SetPublic changes whether other teams may use a template.
func (c *Catalog) SetPublic(ctx context.Context, team, idOrName string, public bool) (store.Template, error) {
	t, err := c.owned(ctx, team, idOrName)
	if err != nil {
		return t, err
	}
	if err := c.store.SetTemplatePublic(ctx, t.ID, public, time.Time{}); err != nil {
		return t, err
	}
	return c.store.GetTemplate(ctx, t.ID)
}

// Delete removes a template, its builds and tags, and frees the layers no
// other template uses. A template sandboxes still run from is refused
// (the error lists the caller's sandboxes and counts other teams'), as is
// the default template. Delete and the start of a create are exclusive
// (Hold): a create either finds the template and records its sandbox
// before the delete looks, or finds no template. Only creates from this
// template wait for it.
func (c *Catalog) Delete(ctx context.Context, team, idOrName string) error {
	t, err := c.owned(ctx, team, idOrName)
	if err != nil {
		return err
	}
	unlockTemplate := c.lockForDelete(t.ID)
	locked := true
	unlock := func() {
		if locked {
			locked = false
			unlockTemplate()
		}
	}
	defer unlock()
	// Read again under the lock: another delete may have run meanwhile.
	if t, err = c.owned(ctx, team, t.ID); err != nil {
		return err
	}
	if t.ID == BaseID {
		return fmt.Errorf("the default template cannot be deleted: %w", errdefs.ErrFailedPrecondition)
	}
	live, err := c.store.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates})
	if err != nil {
		return err
	}
	var mine []string
	others := 0
	for _, sb := range live {
		name, _, _ := strings.Cut(sb.TemplateID, ":")
		if name != t.ID && !contains(t.Names, name) {
			continue
		}
		if sb.ClientID == team {
			mine = append(mine, sb.ID)
		} else {
			others++
		}
	}
	if n := len(mine) + others; n > 0 {
		var who []string
		if len(mine) > 0 {
			who = append(who, "yours: "+strings.Join(mine, ", "))
		}
		if others > 0 {
			who = append(who, fmt.Sprintf("%d of other teams", others))
		}
		return fmt.Errorf("template %q has %d sandboxes running or paused (%s): kill them first: %w",
			idOrName, n, strings.Join(who, "; "), errdefs.ErrFailedPrecondition)
	}
	c.mu.Lock()
	builds, _ := c.store.ListBuilds(ctx, t.ID)
	var packs []string // snapshots' blobs in object storage
	for _, b := range builds {
		if cancel, ok := c.cancel[b.ID]; ok {
			cancel()
		}
		if p := snapshotPackOf(b); p != nil {
			packs = append(packs, p.Digest)
		}
	}
	c.mu.Unlock()
	if err := c.store.DeleteTemplate(ctx, t.ID); err != nil {
		return err
	}
	// From here a create finds no template: the rest need not hold
	// creates back.
	unlock()
	// Pooled sandboxes are in no store row, but they use the layers.
	if c.pools != nil {
		c.pools.Removed(ctx, t.ID)
	}
	if err := c.collect(ctx); err != nil {
		c.log.Warn("free template layers", "error", err)
	}
	c.dropPacks(ctx, packs)
	return nil
}

func contains(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// collect removes layers no build of any template refers to. It waits
// for running builds, which may be about to reuse a layer.
func (c *Catalog) collect(ctx context.Context) error {
	if c.layers == nil {
		return nil
	}
	c.buildMu.Lock()
	defer c.buildMu.Unlock()
	ts, err := c.store.ListTemplates(ctx, "")
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, t := range ts {
		builds, err := c.store.ListBuilds(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, b := range builds {
			for _, l := range b.Layers {
				// By layer id, however the path was written down.
				used[filepath.Base(filepath.Clean(l))] = true
			}
			if cp := snapshotCheckpointOf(b); cp != "" {
				// Recorded as a path: keep it by its layer id too.
				used[filepath.Base(filepath.Clean(cp))] = true
			}
		}
	}
	all, err := c.layers.List()
	if err != nil {
		return err
	}
	for _, d := range all {
		if !used[d] {
			if err := c.layers.Remove(ctx, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// AssignTags points tags at the build target ("name:tag") names.
func (c *Catalog) AssignTags(ctx context.Context, team, target string, tags []string) (string, error) {
	name, _, err := splitTag(target)
	if err != nil {
		return "", err
	}
	if len(tags) == 0 {
		return "", fmt.Errorf("no tags to assign: %w", errdefs.ErrInvalidArgument)
	}
	if _, err := c.owned(ctx, team, name); err != nil {
		return "", err
	}
	t, b, err := c.resolve(ctx, target)
	if err != nil {
		return "", err
	}
	return b.ID, c.store.SetTags(ctx, t.ID, b.ID, tags, time.Time{})
}

// RemoveTags removes tags of the template name names.
func (c *Catalog) RemoveTags(ctx context.Context, team, name string, tags []string) error {
	if len(tags) == 0 {
		return fmt.Errorf("no tags to remove: %w", errdefs.ErrInvalidArgument)
	}
	t, err := c.owned(ctx, team, name)
	if err != nil {
		return err
	}
	return c.store.DeleteTags(ctx, t.ID, tags)
}

// Tags lists a template's tags.
func (c *Catalog) Tags(ctx context.Context, team, idOrName string) ([]store.TemplateTag, error) {
	t, err := c.visible(ctx, team, idOrName)
	if err != nil {
		return nil, err
	}
	return c.store.ListTags(ctx, t.ID)
}

// Alias returns the template a name belongs to, for E2B's alias check:
// ErrPermissionDenied when another team owns it privately.
func (c *Catalog) Alias(ctx context.Context, team, alias string) (store.Template, error) {
	t, err := c.store.GetTemplate(ctx, alias)
	if err != nil {
		return t, err
	}
	if t.Team != team && !t.Public && t.Team != "" {
		return t, fmt.Errorf("template %q belongs to another team: %w", alias, errdefs.ErrPermissionDenied)
	}
	return t, nil
}

// StepTail returns the last n log entries of one step of a build, for a
// failed build's reason; none when the step is unknown or the log
// unreadable.
func (c *Catalog) StepTail(ctx context.Context, buildID, step string, n int) []store.BuildLogEntry {
	if step == "" {
		return nil
	}
	logs, err := c.store.BuildLogs(ctx, buildID, 0, 1<<20)
	if err != nil {
		return nil
	}
	var out []store.BuildLogEntry
	for _, l := range logs {
		if l.Step == step {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
