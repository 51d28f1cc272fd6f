package api

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/store"
)

// PoolView tells what warm pool a template has.
type PoolView interface {
	// PoolOf returns t's pool bounds, where they come from ("api",
	// "config" or "default"), and the pool's state, if it has one.
	PoolOf(t store.Template) (pool.Bounds, string, *pool.Stats)
}

// poolBody is SoulBox's TemplatePool: a template's warm pool.
type poolBody struct {
	TemplateID string   `json:"templateID"`
	Min        int      `json:"min"`
	Max        int      `json:"max"`
	Prewarm    []string `json:"prewarm"`
	// Source says where the bounds come from: api, config or default.
	Source  string `json:"source"`
	Ready   int    `json:"ready"`
	Filling int    `json:"filling"`
	Target  int    `json:"target"`
	Hits    uint64 `json:"hits"`
	Misses  uint64 `json:"misses"`
}

func (t *Templates) poolJSON(tpl store.Template) poolBody {
	if t.pools == nil {
		return poolBody{TemplateID: tpl.ID, Prewarm: []string{}, Source: "default"}
	}
	b, src, st := t.pools.PoolOf(tpl)
	out := poolBody{TemplateID: tpl.ID, Min: b.Min, Max: b.Max, Prewarm: b.Prewarm, Source: src}
	if out.Prewarm == nil {
		out.Prewarm = []string{}
	}
	if st != nil {
		out.Ready, out.Filling, out.Target, out.Hits, out.Misses = st.Ready, st.Filling, st.Target, st.Hits, st.Misses
	}
	return out
}

// getPool is GET /templates/{id}/pool, SoulBox's: the template's warm
// pool. An alias named "pool" still resolves through E2B's alias route.
func (t *Templates) getPool(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") == "aliases" {
		r.SetPathValue("a", "aliases")
		r.SetPathValue("b", "pool")
		t.tagsOrAlias(w, r)
		return
	}
	info, err := t.cat.Get(r.Context(), t.team(r), r.PathValue("id"))
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t.poolJSON(info.Template))
}

// setPool is PUT /templates/{id}/pool, SoulBox's: sets the template's
// warm pool bounds ({min, max, prewarm}; max 0 pools none), stored before
// the pool changes. Above the per-team ceiling only an admin key may go
// (403 otherwise).
func (t *Templates) setPool(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Min     *int     `json:"min"`
		Max     *int     `json:"max"`
		Prewarm []string `json:"prewarm"`
	}
	if err := decodeStrictBody(r.Body, &body); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if body.Max == nil {
		t.api.writeError(w, r, fmt.Errorf("max is required (0 pools none): %w", errdefs.ErrInvalidArgument))
		return
	}
	p := &store.TemplatePool{Max: *body.Max, Prewarm: body.Prewarm}
	if body.Min != nil {
		p.Min = *body.Min
	}
	t.savePool(w, r, p)
}

// resetPool is DELETE /templates/{id}/pool, SoulBox's: the API's bounds
// go, and the server's configuration decides the template's pool again.
func (t *Templates) resetPool(w http.ResponseWriter, r *http.Request) {
	t.savePool(w, r, nil)
}

func (t *Templates) savePool(w http.ResponseWriter, r *http.Request, p *store.TemplatePool) {
	tpl, err := t.cat.SetPool(r.Context(), t.team(r), t.admin(r), r.PathValue("id"), p)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t.poolJSON(tpl))
}
