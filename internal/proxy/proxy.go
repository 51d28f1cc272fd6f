// Package proxy forwards sandbox traffic arriving on the server's listener
// to the right sandbox: the agent (port 49983), the code interpreter
// (49999) or any port a process inside listens on. Requests name their
// sandbox the ways E2B's SDKs do: E2b-Sandbox-Id / E2b-Sandbox-Port headers,
// a <port>-<id>.<domain> host, or, for signed /files links that carry no
// sandbox id, the signature itself.
//
// Connections into sandboxes are opened by the runtime's dialer (the OCI
// driver enters the sandbox's network namespace), never through DNS or a
// host-reachable address.
package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/soulbox/soulbox/internal/runtime"
)

// Headers of E2B's routing protocol, in canonical form.
const (
	headerSandboxID    = "E2b-Sandbox-Id"
	headerSandboxPort  = "E2b-Sandbox-Port"
	headerTrafficToken = "E2b-Traffic-Access-Token"
)

// Target is a sandbox traffic may go to.
type Target struct {
	ID string
	// EnvdAccessToken is the agent's access token; it signs /files links.
	EnvdAccessToken string
	// TrafficAccessToken, when set, guards the sandbox's user ports (all
	// but the agent's and the code interpreter's, which check the envd
	// token themselves): requests must carry it in
	// E2B-Traffic-Access-Token. Empty leaves user ports open, as in E2B.
	TrafficAccessToken string
	// MaskRequestHost, when set, is the Host header requests to user
	// ports arrive with, "${PORT}" replaced by the port (E2B's
	// maskRequestHost).
	MaskRequestHost string
	Paused          bool
	// AutoResume marks a paused sandbox that traffic resumes (E2B's
	// autoResume): the proxy asks its AutoResumer to, once the request
	// has passed the traffic token check.
	AutoResume bool
}

// AutoResumer is the optional ability of Sandboxes to resume a paused
// sandbox for a request and return it running. The proxy calls it only
// for a request allowed to reach the sandbox, so an unauthenticated one
// cannot wake a private sandbox.
type AutoResumer interface {
	AutoResume(ctx context.Context, id string) (Target, error)
}

// Sandboxes finds targets.
type Sandboxes interface {
	// Lookup returns a live (running or paused) sandbox;
	// errdefs.ErrNotFound for an unknown or ended one.
	Lookup(ctx context.Context, id string) (Target, error)
	// Secured lists the running sandboxes that have an envd access token,
	// the candidates for a signed /files link.
	Secured(ctx context.Context) ([]Target, error)
}

// DialFunc opens a TCP connection to 127.0.0.1:port inside a sandbox: the
// DialContext method of a runtime.Dialer.
type DialFunc func(ctx context.Context, id string, port int) (net.Conn, error)

// A runtime.Dialer's method is a DialFunc.
var _ = func(d runtime.Dialer) DialFunc { return d.DialContext }

// Proxy is the traffic proxy: an http.Handler for the requests Match
// accepts.
type Proxy struct {
	sandboxes Sandboxes
	domain    string // lowercase, no leading dot; "" disables host routing
	log       *slog.Logger
	rp        *httputil.ReverseProxy
}

// New returns a proxy that reaches sandboxes with dial and routes hosts
// <port>-<id>.<domain>. Pass a driver's method: New(sb, d.DialContext, ...).
func New(sb Sandboxes, dial DialFunc, domain string, log *slog.Logger) *Proxy {
	p := &Proxy{
		sandboxes: sb,
		domain:    strings.Trim(strings.ToLower(domain), "."),
		log:       log,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      newTransport(dial),
		FlushInterval:  -1, // stream: Connect server streams, long downloads
		ModifyResponse: modifyResponse,
		ErrorHandler:   p.upstreamError,
		// Copy errors are mostly clients that abort a stream they are
		// done with, which the SDKs do all the time.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return p
}

// Match reports whether r is sandbox traffic rather than an API call: it
// names a sandbox by header or host, or it is a signed /files link.
func (p *Proxy) Match(r *http.Request) bool {
	if r.Header.Get(headerSandboxID) != "" {
		return true
	}
	if _, _, ok := p.hostRoute(r.Host); ok {
		return true
	}
	return r.URL.Path == "/files" && r.URL.Query().Has("signature")
}

// ServeHTTP forwards r to its sandbox, or answers {code, message} when it
// cannot.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, err := p.route(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
}
