// Package api is the control plane's REST API in E2B's shape: the paths,
// bodies and status codes the official E2B SDKs use (see
// openapi.json, served at GET /openapi.json). Handlers only translate: the lifecycle manager does
// the work, and httperr maps its errors to codes.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/node"
)

// EnvdVersion is the envd protocol version sandboxes report; E2B's SDKs
// enable features by it.
const EnvdVersion = envd.Version

// Config is what the API is built from.
type Config struct {
	Lifecycle *lifecycle.Manager
	// Domain is reported to clients for sandbox hosts.
	Domain string
	// Team returns the team of an authenticated request.
	Team func(r *http.Request) string
	Log  *slog.Logger
	// Events is the lifecycle event log GET /events streams.
	Events EventLog
	// Stop, when closed, ends the event streams: the server is shutting
	// down and waits for every request to end.
	Stop <-chan struct{}
	// Nodes lists the nodes GET /nodes reports, to callers Admin says
	// hold an admin key; nil: no node routes answer.
	Nodes node.Lister
	Admin func(r *http.Request) bool
	// NodeStatus changes a node's status (POST /nodes/{nodeID}); nil:
	// that route answers 503.
	NodeStatus NodeStatusSetter
	// NodeDeleter removes a joined node (DELETE /nodes/{nodeID}); nil:
	// that route answers 503.
	NodeDeleter NodeDeleter
	// MaxStreamsPerTeam is how many GET /events streams that follow one
	// team may have open at once; 0 means DefaultMaxStreamsPerTeam.
	MaxStreamsPerTeam int
	// Recheck, if set, checks again the credential of an authenticated
	// request (an error: it no longer works); open event streams ask it
	// every few seconds and end when it refuses.
	Recheck func(ctx context.Context, r *http.Request) error
}

// API serves the REST routes.
type API struct {
	lc     *lifecycle.Manager
	domain string
	team   func(r *http.Request) string
	log    *slog.Logger
	// eventLog is nil when the API was built without one.
	eventLog   EventLog
	stop       <-chan struct{}
	streams    streamSlots
	maxStreams int
	nodes      node.Lister
	admin      func(r *http.Request) bool
	recheck    func(ctx context.Context, r *http.Request) error
	nodeStatus NodeStatusSetter

	// nodeDeleter removes joined nodes (nil: DELETE /nodes/{nodeID} is 503).
	nodeDeleter NodeDeleter
}

// New returns the API.
func New(cfg Config) *API {
	team := cfg.Team
	if team == nil {
		team = func(*http.Request) string { return "default" }
	}
	most := cfg.MaxStreamsPerTeam
	if most <= 0 {
		most = DefaultMaxStreamsPerTeam
	}
	return &API{lc: cfg.Lifecycle, domain: cfg.Domain, team: team, log: cfg.Log, eventLog: cfg.Events, stop: cfg.Stop, maxStreams: most,
		nodes: cfg.Nodes, admin: cfg.Admin, recheck: cfg.Recheck, nodeStatus: cfg.NodeStatus,
		nodeDeleter: cfg.NodeDeleter}
}

// Router is where routes are registered (an *http.ServeMux).
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Router) {
	mux.HandleFunc("POST /sandboxes", a.create)
	mux.HandleFunc("POST /v2/sandboxes", a.create)
	mux.HandleFunc("GET /sandboxes", a.listV1)
	mux.HandleFunc("GET /v2/sandboxes", a.list)
	mux.HandleFunc("GET /sandboxes/metrics", a.metricsMany)
	mux.HandleFunc("GET /sandboxes/{id}", a.get)
	mux.HandleFunc("DELETE /sandboxes/{id}", a.kill)
	mux.HandleFunc("POST /sandboxes/{id}/timeout", a.setTimeout)
	mux.HandleFunc("PUT /sandboxes/{id}/network", a.updateNetwork)
	mux.HandleFunc("POST /sandboxes/{id}/pause", a.pause)
	mux.HandleFunc("POST /sandboxes/{id}/processes/kill", a.killProcesses)
	mux.HandleFunc("POST /sandboxes/{id}/connect", a.connect)
	mux.HandleFunc("POST /v2/sandboxes/{id}/connect", a.connect)
	mux.HandleFunc("POST /sandboxes/{id}/resume", a.resume)
	mux.HandleFunc("POST /sandboxes/{id}/refreshes", a.refresh)
	mux.HandleFunc("GET /sandboxes/{id}/metrics", a.metrics)
	mux.HandleFunc("GET /sandboxes/{id}/logs", a.logs)
	mux.HandleFunc("GET /events", a.events)
	mux.HandleFunc("GET /teams/{teamID}/metrics", a.teamMetrics)
	mux.HandleFunc("GET /teams/{teamID}/metrics/max", a.teamMetricsMax)
	mux.HandleFunc("GET /nodes", a.listNodes)
	mux.HandleFunc("GET /nodes/{nodeID}", a.getNode)
	mux.HandleFunc("POST /nodes/{nodeID}", a.setNodeStatus)
	mux.HandleFunc("DELETE /nodes/{nodeID}", a.deleteNode)
	mux.HandleFunc("POST /sandboxes/{id}/snapshots", a.createSnapshot)
	mux.HandleFunc("GET /snapshots", a.listSnapshots)
	mux.HandleFunc("POST /sandboxes/{id}/fork", a.fork)
	// Anything else under the API's paths (an unknown path, a method a
	// path does not take) is answered in the API's error shape too,
	// instead of the mux's plain text.
	for _, p := range []string{"/sandboxes", "/sandboxes/", "/v2/sandboxes", "/v2/sandboxes/", "/events", "/teams/", "/nodes", "/nodes/", "/snapshots"} {
		mux.HandleFunc(p, a.noRoute)
	}
}

func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	httperr.WriteBody(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path+": see GET /openapi.json")
}

// writeError answers with err's category (see httperr): a server fault
// is logged and answered without its internals.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	httperr.Write(w, r, a.log, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
