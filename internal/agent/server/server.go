// Package server assembles the agent's HTTP endpoint on port 49983: E2B's
// envd protocol (the Process and Filesystem Connect services, /files,
// /envs, /init, /metrics, /health) behind the access-token check.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/soulbox/soulbox/internal/agent/metrics"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/envd"
)

// Version is the envd protocol version the agent reports. E2B's SDKs
// enable features by it; 0.6.13 or later unlocks all of them.
const Version = envd.Version

// Config is what the agent's endpoint is built from.
type Config struct {
	State   *state.State
	Metrics *metrics.Reader
	Log     *slog.Logger
	// Services are mounted as they are: Connect handlers by their path
	// prefix ("/process.Process/"), the /files handler at "/files".
	Services map[string]http.Handler
	// AfterInit, if set, runs after /init is applied and before it answers.
	AfterInit func(context.Context, state.Init)
}

// New returns the agent's HTTP handler.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /envs", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, cfg.State.Envs())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Metrics.Read())
	})
	mux.HandleFunc("POST /init", func(w http.ResponseWriter, r *http.Request) {
		var in state.Init
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		// Unknown fields (timestamp, volumeMounts ...) are E2B's: ignored.
		if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "invalid /init body: "+err.Error())
			return
		}
		if err := in.Validate(); err != nil {
			writeError(w, http.StatusBadRequest, "invalid /init body: "+err.Error())
			return
		}
		cfg.State.Apply(in)
		if cfg.AfterInit != nil {
			cfg.AfterInit(r.Context(), in)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for prefix, h := range cfg.Services {
		mux.Handle(prefix, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, r.Method+" "+r.URL.Path+" is not a route of the agent")
	})
	return withVersion(authorize(cfg.State, mux))
}

// open are the routes reachable without the access token: the health
// check, and /files, which checks the token or a URL signature itself.
func open(r *http.Request) bool {
	return (r.Method == http.MethodGet && r.URL.Path == "/health") || r.URL.Path == "/files"
}

// authorize requires the access token, once one is set, on every route
// but the open ones.
func authorize(st *state.State, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open(r) && !st.Authorized(r.Header.Get("X-Access-Token")) {
			writeError(w, http.StatusUnauthorized, "unauthorized: send the sandbox's access token in X-Access-Token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withVersion tells clients which envd protocol version they talk to.
func withVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Envd-Version", Version)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}
