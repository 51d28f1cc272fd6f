package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes keeps the document and the routes in step: every
// route Register adds is documented, and every documented path is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			ok := false
			for code := range op.Responses {
				ok = ok || strings.HasPrefix(code, "2")
			}
			if !ok {
				t.Errorf("%s %s documents no success", method, path)
			}
		}
	}
	rec := &recordingMux{}
	New(Config{}).Register(rec)
	tm := NewTemplates(TemplatesConfig{})
	tm.Register(rec)
	tm.RegisterUploads(rec)
	NewTeams(TeamsConfig{}).Register(rec)
	NewNodeTokens(nil, nil).Register(rec)
	NewSignIn(SignInConfig{}).Register(rec)
	registered := map[string]bool{"GET /health": true, "GET /ready": true, "GET /metrics": true} // served by the server itself
	for _, p := range rec.patterns {
		switch {
		case p == "GET /templates/{a}/{b}": // one handler for two paths
			registered["GET /templates/{id}/tags"] = true
			registered["GET /templates/aliases/{alias}"] = true
		case strings.Contains(p, " "): // method-less patterns are the catch-alls
			registered[p] = true
		}
	}
	for r := range registered {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	var extra []string
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("documented but not served: %v", extra)
	}
}

// recordingMux notes the patterns registered on it.
type recordingMux struct{ patterns []string }

func (r *recordingMux) HandleFunc(pattern string, _ func(http.ResponseWriter, *http.Request)) {
	r.patterns = append(r.patterns, pattern)
}
