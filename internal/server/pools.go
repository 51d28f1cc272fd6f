package server

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/store"
)

// parseBounds reads "min:max".
func parseBounds(s string) (pool.Bounds, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), ":")
	minN, err1 := strconv.Atoi(lo)
	maxN, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return pool.Bounds{}, fmt.Errorf("want min:max, such as 1:4")
	}
	b := pool.Bounds{Min: minN, Max: maxN}
	return b, b.Validate()
}

// poolTemplates is PoolTemplates by template name or id.
func (c Config) poolTemplates() (map[string]pool.Bounds, error) {
	out := map[string]pool.Bounds{}
	for _, pair := range strings.Split(c.PoolTemplates, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, bounds, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("pool templates entry %q: want template=min:max", pair)
		}
		b, err := parseBounds(bounds)
		if err != nil {
			return nil, fmt.Errorf("pool templates entry %q: %v", pair, err)
		}
		out[name] = b
	}
	return out, nil
}

// templatePools decides each template's pool bounds and keeps the warm
// pool in step with the catalog (catalog.Pools).
type templatePools struct {
	pool    *pool.Pool
	cat     *catalog.Catalog
	log     *slog.Logger
	byName  map[string]pool.Bounds
	def     pool.Bounds // zero: templates not named are not pooled
	base    pool.Bounds
	prewarm []string

	namedMu sync.Mutex
	named   map[string]bool // ids of templates the configuration names, and the server's own
}

var _ catalog.Pools = (*templatePools)(nil)

func newTemplatePools(cfg Config, p *pool.Pool, cat *catalog.Catalog, log *slog.Logger) *templatePools {
	tp := &templatePools{pool: p, cat: cat, log: log, prewarm: cfg.prewarm(),
		base: pool.Bounds{Min: cfg.PoolMin, Max: cfg.PoolMax}}
	tp.byName, _ = cfg.poolTemplates() // validated
	if cfg.PoolDefault != "" {
		tp.def, _ = parseBounds(cfg.PoolDefault)
	}
	return tp
}

// Where a template's pool bounds come from.
const (
	PoolFromAPI     = "api"
	PoolFromConfig  = "config"
	PoolFromDefault = "default"
)

// bounds returns t's pool bounds and where they come from: the API's,
// else the configuration's for one of its names, else the default
// template's (PoolMin, PoolMax), else PoolDefault (not for snapshots).
// Max 0 is no pool.
func (tp *templatePools) bounds(t store.Template) (pool.Bounds, string) {
	tp.note(t)
	if t.Pool != nil {
		b := pool.Bounds{Min: t.Pool.Min, Max: t.Pool.Max, Prewarm: t.Pool.Prewarm}
		if b.Prewarm == nil {
			b.Prewarm = tp.prewarm
		}
		return b, PoolFromAPI
	}
	src, found := PoolFromDefault, false
	b := tp.def
	for _, n := range append([]string{t.ID}, t.Names...) {
		if nb, ok := tp.byName[n]; ok {
			b, src, found = nb, PoolFromConfig, true
			break
		}
	}
	if !found && t.ID == catalog.BaseID {
		b, src = tp.base, PoolFromConfig
	}
	if !found && catalog.IsSnapshot(t) {
		// A snapshot is pooled only when asked for by name or through
		// the API: PoolDefault would keep sandboxes warm for every
		// snapshot and fork.
		b = pool.Bounds{}
	}
	b.Prewarm = tp.prewarm
	return b, src
}

// Rebuilt implements catalog.Pools.
func (tp *templatePools) Rebuilt(ctx context.Context, t store.Template) {
	b, _ := tp.bounds(t)
	if b.Max == 0 {
		tp.pool.Remove(ctx, t.ID)
		return
	}
	tp.pool.Replace(ctx, t.ID, b)
}

// Changed implements catalog.Pools.
func (tp *templatePools) Changed(ctx context.Context, t store.Template) {
	b, _ := tp.bounds(t)
	if b.Max == 0 {
		tp.pool.Remove(ctx, t.ID)
		return
	}
	// Only a template with a build to make sandboxes of is pooled; its
	// first build fills the pool.
	if _, err := tp.cat.Resolve(t.ID); err != nil {
		return
	}
	tp.pool.Set(t.ID, b)
}

// Removed implements catalog.Pools.
func (tp *templatePools) Removed(ctx context.Context, id string) { tp.pool.Remove(ctx, id) }

// start pools every template with a ready build, as the configuration
// and the stored bounds say.
func (tp *templatePools) start(ctx context.Context) {
	ts, err := tp.cat.List(ctx, "")
	if err != nil {
		tp.log.Error("list templates to pool", "err", err)
		return
	}
	for _, i := range ts {
		tp.Changed(ctx, i.Template)
	}
}

// note remembers whether the operator named t: by its id or a name in
// PoolTemplates, or as the server's own default template.
func (tp *templatePools) note(t store.Template) {
	named := t.ID == catalog.BaseID
	for _, n := range append([]string{t.ID}, t.Names...) {
		_, ok := tp.byName[n]
		named = named || ok
	}
	tp.namedMu.Lock()
	defer tp.namedMu.Unlock()
	if tp.named == nil {
		tp.named = map[string]bool{}
	}
	if named {
		tp.named[t.ID] = true
	} else {
		delete(tp.named, t.ID)
	}
}

// Named reports whether the operator named the template id: such a
// template keeps its id as a metric label and in GET /health, the
// others are telemetry.OtherTemplates.
func (tp *templatePools) Named(id string) bool {
	tp.namedMu.Lock()
	defer tp.namedMu.Unlock()
	return tp.named[id] || id == catalog.BaseID
}

// PoolOf implements api.PoolView.
func (tp *templatePools) PoolOf(t store.Template) (pool.Bounds, string, *pool.Stats) {
	b, src := tp.bounds(t)
	if cur, ok := tp.pool.Bounds(t.ID); ok {
		b = cur
	}
	for _, st := range tp.pool.Stats() {
		if st.Template == t.ID {
			return b, src, &st
		}
	}
	return b, src, nil
}
