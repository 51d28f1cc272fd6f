package api

import (
	"net/http"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/authz"
)

// recorder records the patterns registered on it.
type recorder struct{ patterns []string }

func (r *recorder) HandleFunc(p string, _ func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, p)
}

// TestEveryRouteHasAPermission fails when a route is added without an
// entry in its route table (Guard would refuse to start the server), or
// an entry names a route that no longer exists.
func TestEveryRouteHasAPermission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register func(Router)
		table    authz.Routes
	}{
		{"sandboxes", New(Config{}).Register, SandboxRoutes},
		{"templates", NewTemplates(TemplatesConfig{}).Register, TemplateRoutes},
		{"teams", NewTeams(TeamsConfig{}).Register, TeamRoutes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			tc.register(&rec)
			for _, p := range rec.patterns {
				if _, ok := tc.table[p]; !ok {
					t.Errorf("route %q has no permission in the route table", p)
				}
			}
			for _, p := range tc.table.Patterns() {
				if !slices.Contains(rec.patterns, p) {
					t.Errorf("route table names %q, which is not registered", p)
				}
			}
			// And Guard registers them all without a panic.
			tc.register(authz.Guard(http.NewServeMux(), tc.table))
		})
	}
}
