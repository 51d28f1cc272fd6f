package server

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/proxy"
	"github.com/soulbox/soulbox/internal/version"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /openapi.json", api.ServeOpenAPI)
	// The API needs a key; /health, /metrics and unknown routes do not.
	apiMux := http.NewServeMux()
	api.New(api.Config{Lifecycle: s.lifecycle, Domain: s.cfg.Domain, Log: s.log, Team: team}).Register(apiMux)
	mux.Handle("/sandboxes", s.authn.Middleware(apiMux))
	mux.Handle("/sandboxes/", s.authn.Middleware(apiMux))
	mux.Handle("/v2/sandboxes", s.authn.Middleware(apiMux))
	mux.Handle("/v2/sandboxes/", s.authn.Middleware(apiMux))
	s.templateRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errors.New("no route for "+r.Method+" "+r.URL.Path), http.StatusNotFound)
	})
	// Sandbox traffic and API calls share the listener: the proxy takes
	// what names a sandbox, the API the rest.
	px := proxy.New(s.lifecycle, s.driver.DialContext, s.cfg.Domain, s.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if px.Match(r) {
			px.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
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
	// Pool is the warm pool of each pooled template; absent when off.
	Pool []pool.Stats `json:"pool,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	templates := maps.Clone(s.templateState)
	s.mu.Unlock()
	h := healthResponse{Status: "ok", Version: version.Version, Runtime: s.driver.Name(), Templates: templates}
	if s.pool != nil {
		h.Pool = s.pool.Stats()
	}
	writeJSON(w, http.StatusOK, h)
}

// errorBody is what every error answer carries, as the E2B SDKs parse it.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeError answers with err's category mapped to a status (see
// errdefs.HTTPStatus) unless status is given. A server-side failure never
// shows its internals to the client.
func writeError(w http.ResponseWriter, err error, status int) {
	if status == 0 {
		status = errdefs.HTTPStatus(err)
	}
	msg := err.Error()
	if status >= 500 {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, errorBody{Code: status, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
