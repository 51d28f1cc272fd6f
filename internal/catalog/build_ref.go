package catalog

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// buildRefSep joins a template id and the id of one of its builds into a
// ref naming that build whatever the template's tags say since. A
// restore of a snapshot is given one, so that the files under the
// restored processes are the ones saved with them even if the snapshot
// is taken again under its name meanwhile. Template names and tags
// cannot hold it.
const buildRefSep = "@"

// buildRef is the ref of build buildID of template templateID.
func buildRef(templateID, buildID string) string { return templateID + buildRefSep + buildID }

// resolveBuild finds template id's ready build buildID.
func (c *Catalog) resolveBuild(ctx context.Context, id, buildID string) (store.Template, store.TemplateBuild, error) {
	t, err := c.store.GetTemplate(ctx, id)
	if err != nil {
		return t, store.TemplateBuild{}, err
	}
	b, err := c.store.GetBuild(ctx, t.ID, buildID)
	if err != nil {
		return t, b, err
	}
	if b.Status != store.BuildReady {
		return t, store.TemplateBuild{}, fmt.Errorf("build %s of template %q is %s: %w", buildID, id, b.Status, errdefs.ErrFailedPrecondition)
	}
	return t, b, nil
}
