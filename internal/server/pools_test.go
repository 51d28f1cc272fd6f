package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/store"
)

// A template's pool bounds come from the API, else the configuration by
// any of its names, else the default template's own bounds, else the
// default for all.
func TestTemplatePoolBounds(t *testing.T) {
	cfg := Defaults()
	cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 1, 8, "python"
	cfg.PoolTemplates, cfg.PoolDefault = "py-alias=2:4", "0:2"
	tp := newTemplatePools(cfg, nil, nil, nil)
	py := []string{"python"}
	for _, tc := range []struct {
		name string
		t    store.Template
		want pool.Bounds
		src  string
	}{
		{"by alias", store.Template{ID: "t1", Names: []string{"py", "py-alias"}}, pool.Bounds{Min: 2, Max: 4, Prewarm: py}, "config"},
		{"default template", store.Template{ID: "base"}, pool.Bounds{Min: 1, Max: 8, Prewarm: py}, "config"},
		{"not named", store.Template{ID: "t2", Names: []string{"node"}}, pool.Bounds{Min: 0, Max: 2, Prewarm: py}, "default"},
		{"api wins", store.Template{ID: "t1", Names: []string{"py-alias"}, Pool: &store.TemplatePool{Min: 0, Max: 0}}, pool.Bounds{Prewarm: py}, "api"},
		{"api prewarm", store.Template{ID: "t3", Pool: &store.TemplatePool{Max: 1, Prewarm: []string{"bash"}}}, pool.Bounds{Max: 1, Prewarm: []string{"bash"}}, "api"},
		{"snapshot not by default", store.Template{ID: "snap0123", Names: []string{"mysnap"}}, pool.Bounds{Prewarm: py}, "default"},
		{"snapshot by name", store.Template{ID: "snap0123", Names: []string{"py-alias"}}, pool.Bounds{Min: 2, Max: 4, Prewarm: py}, "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, src := tp.bounds(tc.t)
			if d := cmp.Diff(tc.want, got); d != "" || src != tc.src {
				t.Errorf("bounds (-want +got):\n%s source %q, want %q", d, src, tc.src)
			}
		})
	}
}
