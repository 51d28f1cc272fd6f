package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/store"
)

// Pools is the warm pool the catalog keeps in step with its templates.
type Pools interface {
	// Rebuilt is told after a build of t succeeded: sandboxes pooled from
	// an older build are replaced.
	Rebuilt(ctx context.Context, t store.Template)
	// Changed is told after t's pool bounds changed.
	Changed(ctx context.Context, t store.Template)
	// Removed is told before the template id is deleted, and returns once
	// no pooled sandbox uses its layers.
	Removed(ctx context.Context, id string)
}

// UsePools keeps p in step with the templates. Call before serving.
func (c *Catalog) UsePools(p Pools) { c.pools = p }

// SetPool sets the warm pool bounds of a template team owns; nil clears
// them, leaving the pool to the server's configuration. The bounds are
// stored before the pool changes. Pooled sandboxes hold the server's
// memory, which the pools of all templates share, so with a key that is
// not an admin key the pool maxima of all the team's templates together
// may be at most Limits.PoolTeamMax sandboxes (none when that is
// negative); an admin key may ask for what the pool allows.
func (c *Catalog) SetPool(ctx context.Context, team string, admin bool, idOrName string, p *store.TemplatePool) (store.Template, error) {
	c.poolMu.Lock()
	defer c.poolMu.Unlock()
	t, err := c.owned(ctx, team, idOrName)
	if err != nil {
		return t, err
	}
	if p != nil {
		if err := (pool.Bounds{Min: p.Min, Max: p.Max, Prewarm: p.Prewarm}).Validate(); err != nil {
			return t, fmt.Errorf("template %q: %w: %w", idOrName, err, errdefs.ErrInvalidArgument)
		}
		if !admin {
			if err := c.underPoolCeiling(ctx, t, idOrName, p.Max); err != nil {
				return t, err
			}
		}
	}
	if c.refuse != nil {
		return t, fmt.Errorf("warm pools: %w", c.refuse)
	}
	if err := c.store.SetTemplatePool(ctx, t.ID, p, time.Time{}); err != nil {
		return t, err
	}
	if t, err = c.store.GetTemplate(ctx, t.ID); err != nil {
		return t, err
	}
	if c.pools != nil {
		c.pools.Changed(ctx, t)
	}
	return t, nil
}

// underPoolCeiling refuses a pool max of want for template t when, with
// the pool maxima the team's other templates have, the team would pool
// more than Limits.PoolTeamMax sandboxes.
func (c *Catalog) underPoolCeiling(ctx context.Context, t store.Template, idOrName string, want int) error {
	ceiling := max(c.limits.PoolTeamMax, 0)
	if want > ceiling {
		return fmt.Errorf("template %q: pool max %d is above %d, the most a team's key may set; ask an admin key for more: %w",
			idOrName, want, ceiling, errdefs.ErrPermissionDenied)
	}
	ts, err := c.store.ListTemplates(ctx, t.Team)
	if err != nil {
		return err
	}
	others := 0
	for _, o := range ts {
		if o.Team == t.Team && o.ID != t.ID && o.Pool != nil {
			others += o.Pool.Max
		}
	}
	if others+want > ceiling {
		return fmt.Errorf("template %q: pool max %d with the %d your team's other templates pool is above %d, the most a team's key may pool in all; lower another template's pool or ask an admin key: %w",
			idOrName, want, others, ceiling, errdefs.ErrPermissionDenied)
	}
	return nil
}
