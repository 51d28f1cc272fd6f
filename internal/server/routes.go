package server

import (
	"encoding/json"
	"maps"
	"net/http"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/telemetry"
	"github.com/soulbox/soulbox/internal/version"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /ready", s.ready)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	mux.HandleFunc("GET /openapi.json", api.ServeOpenAPI)
	// The API needs a key; /health, /ready, /metrics and unknown routes do not.
	apiMux := http.NewServeMux()
	api.New(api.Config{Lifecycle: s.lifecycle, Domain: s.cfg.Domain, Log: s.log, Team: team, Events: s.store, Stop: s.stopStreams,
		Nodes: s.registry, NodeStatus: s.registry, NodeDeleter: s.registry, Admin: serverAdmin, Recheck: s.recheckCredential}).Register(authz.Guard(s.audit.Wrap(apiMux), api.SandboxRoutes))
	mux.Handle("/sandboxes", s.authn.Middleware(apiMux))
	mux.Handle("/sandboxes/", s.authn.Middleware(apiMux))
	mux.Handle("/v2/sandboxes", s.authn.Middleware(apiMux))
	mux.Handle("/v2/sandboxes/", s.authn.Middleware(apiMux))
	mux.Handle("/events", s.authn.Middleware(apiMux))
	mux.Handle("/teams/", s.authn.Middleware(apiMux))
	mux.Handle("/nodes", s.authn.Middleware(apiMux))
	mux.Handle("/nodes/", s.authn.Middleware(apiMux))
	mux.Handle("/snapshots", s.authn.Middleware(apiMux))
	if s.cfg.MCP {
		mux.Handle("/mcp", s.mcpHandler())
	}
	s.templateRoutes(mux)
	if s.cfg.DashboardListen == "" {
		s.dashboardRoutes(mux)
	}
	s.teamRoutes(mux)
	s.signInRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httperr.WriteBody(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	// Sandbox traffic and API calls share the listener: the proxy takes
	// what names a sandbox, the API the rest.
	px := proxy.New(s.lifecycle, s.sandboxDial(), s.cfg.Domain, s.log)
	pxh := s.metrics.Proxy(func(r *http.Request) string { return telemetry.PortTarget(px.Port(r)) }, px)
	apih := s.metrics.HTTP(routeOf(mux, apiMux), mux)
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if px.Match(r) {
			pxh.ServeHTTP(w, r)
			return
		}
		apih.ServeHTTP(w, r)
	}))
	return s.dashboardHandler(h)
}

// routeOf names the route pattern of an API request for metrics: the
// API's own pattern for what mux hands to apiMux.
func routeOf(mux, apiMux *http.ServeMux) telemetry.RouteFunc {
	return func(r *http.Request) string {
		_, p := mux.Handler(r)
		switch p {
		case "/":
			return ""
		case "/sandboxes", "/sandboxes/", "/v2/sandboxes", "/v2/sandboxes/", "/events", "/teams/", "/nodes", "/nodes/", "/snapshots":
			_, p = apiMux.Handler(r)
		}
		return telemetry.PatternPath(p)
	}
}

// team is the team of an authenticated request's key.
func team(r *http.Request) string {
	if k, ok := auth.FromContext(r.Context()); ok {
		return k.Team
	}
	return auth.DefaultTeam
}

// healthResponse is the body of GET /health.
type healthResponse struct {
	Status    string            `json:"status"`
	Version   string            `json:"version"`
	Runtime   string            `json:"runtime"`
	Templates map[string]string `json:"templates"`
	// Pool is the warm pool of each pooled template; absent when none is.
	Pool []pool.Stats `json:"pool,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	templates := maps.Clone(s.templateState)
	s.mu.Unlock()
	h := healthResponse{Status: "ok", Version: version.Version, Runtime: s.runtimeName(), Templates: templates}
	if s.pool != nil { // nil only in a partial New
		// Only the operator's templates by name: the others (any team's)
		// are folded into one entry, as in the metrics.
		h.Pool = s.templateLabels.FoldPoolStats(s.pool.Stats())
	}
	writeJSON(w, http.StatusOK, h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
