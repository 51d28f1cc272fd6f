// Package proxy forwards sandbox traffic arriving on the server's listener
// to the right sandbox: the agent (port 49983), the code interpreter
// (49999) or any port a process inside listens on. Requests name their
// sandbox the ways E2B's SDKs do: E2b-Sandbox-Id / E2b-Sandbox-Port headers,
// a <port>-<id>.<domain> host, or, for signed /files links that carry no
// sandbox id, the signature itself.
package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// AgentPort is where the agent listens in every sandbox.
const AgentPort = 49983

// Target is a sandbox traffic may go to.
type Target struct {
	ID              string
	EnvdAccessToken string
	Paused          bool
}

// Sandboxes finds targets.
type Sandboxes interface {
	// Lookup returns a live sandbox; errdefs.ErrNotFound for any other.
	Lookup(ctx context.Context, id string) (Target, error)
	// Secured lists the running sandboxes that have an access token.
	Secured(ctx context.Context) ([]Target, error)
}

// DialFunc opens a connection to a port inside a sandbox.
type DialFunc func(ctx context.Context, id string, port int) (net.Conn, error)

// Proxy is the traffic proxy.
type Proxy struct {
	sandboxes Sandboxes
	domain    string
	log       *slog.Logger
	rp        *httputil.ReverseProxy
}

// New returns a proxy for sandbox hosts under domain.
func New(sb Sandboxes, dial DialFunc, domain string, log *slog.Logger) *Proxy {
	p := &Proxy{sandboxes: sb, domain: strings.ToLower(domain), log: log}
	transport := &http.Transport{
		// The URL host names the sandbox and port ("<id>-<port>.sandbox"),
		// so the connection pool never hands one sandbox's connection to
		// another.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			id, port, err := splitUpstream(addr)
			if err != nil {
				return nil, err
			}
			return dial(ctx, id, port)
		},
		// A fresh connection per request: dialing into a sandbox costs
		// microseconds (no handshake beyond TCP on its loopback), and a
		// pooled connection the agent closed meanwhile would cut a stream.
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rt := pr.In.Context().Value(routeKey{}).(route)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = fmt.Sprintf("%s-%d.sandbox", rt.id, rt.port)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Del("E2b-Sandbox-Id")
			pr.Out.Header.Del("E2b-Sandbox-Port")
			pr.SetXForwarded()
		},
		Transport:     transport,
		FlushInterval: -1, // stream: Connect server streams, long downloads
		// One client connection per proxied request. SDKs abort a
		// stream's request once they have its end event; on a kept-alive
		// connection that abort can land on the next request sent over
		// the same socket and cut it ("terminated"). Closing after each
		// response keeps requests apart for a TCP handshake on loopback.
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != http.StatusSwitchingProtocols { // websockets keep theirs
				resp.Header.Set("Connection", "close")
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rt := r.Context().Value(routeKey{}).(route)
			writeError(w, http.StatusBadGateway, fmt.Sprintf("port %d of sandbox %s is not reachable: %v", rt.port, rt.id, err))
		},
	}
	return p
}

type routeKey struct{}

type route struct {
	id   string
	port int
}

// Match reports whether r is sandbox traffic rather than an API call.
func (p *Proxy) Match(r *http.Request) bool {
	if r.Header.Get("E2b-Sandbox-Id") != "" {
		return true
	}
	if _, _, ok := p.hostRoute(r.Host); ok {
		return true
	}
	return r.URL.Path == "/files" && r.URL.Query().Get("signature") != ""
}

// ServeHTTP forwards r to its sandbox.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, status, err := p.route(r)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
}

// route finds where r goes, or the status and message of why it cannot.
func (p *Proxy) route(r *http.Request) (route, int, error) {
	var rt route
	switch {
	case r.Header.Get("E2b-Sandbox-Id") != "":
		rt.id = r.Header.Get("E2b-Sandbox-Id")
		rt.port = AgentPort
		if s := r.Header.Get("E2b-Sandbox-Port"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 65535 {
				return rt, http.StatusBadRequest, fmt.Errorf("E2b-Sandbox-Port %q: use 1-65535", s)
			}
			rt.port = n
		}
	default:
		if id, port, ok := p.hostRoute(r.Host); ok {
			rt.id, rt.port = id, port
			break
		}
		t, err := p.bySignature(r)
		if err != nil {
			return rt, http.StatusUnauthorized, err
		}
		return route{id: t.ID, port: AgentPort}, 0, nil
	}
	// A sandbox that is not running answers 502, as E2B's edge does: the
	// SDKs read 502 as "not running" (Sandbox.isRunning), anything else
	// as an error.
	t, err := p.sandboxes.Lookup(r.Context(), rt.id)
	if errors.Is(err, errdefs.ErrNotFound) {
		return rt, http.StatusBadGateway, fmt.Errorf("sandbox %s not found or not running", rt.id)
	}
	if err != nil {
		p.log.Error("proxy lookup", "sandbox.id", rt.id, "err", err)
		return rt, http.StatusInternalServerError, errors.New("internal error")
	}
	if t.Paused {
		// A frozen sandbox would hold the request forever: say so at once.
		return rt, http.StatusBadGateway, fmt.Errorf("sandbox %s is paused: connect to it to resume it", rt.id)
	}
	return rt, 0, nil
}

// hostRoute parses <port>-<id>.<domain>[:port].
func (p *Proxy) hostRoute(host string) (string, int, bool) {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, ok := strings.CutSuffix(host, "."+p.domain)
	if !ok || strings.Contains(label, ".") {
		return "", 0, false
	}
	ps, id, ok := strings.Cut(label, "-")
	port, err := strconv.Atoi(ps)
	if !ok || err != nil || port < 1 || port > 65535 || id == "" {
		return "", 0, false
	}
	return id, port, true
}

// bySignature finds the sandbox whose access token signed a /files link.
// It tries every secured running sandbox: O(n) hashes per signed request,
// cheap next to the transfer it starts.
func (p *Proxy) bySignature(r *http.Request) (Target, error) {
	q := r.URL.Query()
	op := "read"
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		op = "write"
	}
	var exp *int64
	if s := q.Get("signature_expiration"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Target{}, errors.New("signature_expiration must be unix seconds")
		}
		exp = &n
	}
	users := []string{q.Get("username")}
	if !q.Has("username") {
		users = append(users, "undefined") // what the JS SDK signs then
	}
	targets, err := p.sandboxes.Secured(r.Context())
	if err != nil {
		return Target{}, errors.New("internal error")
	}
	sig := []byte(q.Get("signature"))
	for _, t := range targets {
		for _, u := range users {
			want := files.Signature(q.Get("path"), op, u, t.EnvdAccessToken, exp)
			if subtle.ConstantTimeCompare(sig, []byte(want)) == 1 {
				return t, nil
			}
		}
	}
	return Target{}, errors.New("invalid or expired signature")
}

// splitUpstream parses the "<id>-<port>.sandbox:80" the rewrite made.
func splitUpstream(addr string) (string, int, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.TrimSuffix(host, ".sandbox")
	i := strings.LastIndexByte(host, '-')
	if i < 0 {
		return "", 0, fmt.Errorf("bad upstream %q", addr)
	}
	port, err := strconv.Atoi(host[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("bad upstream %q", addr)
	}
	return host[:i], port, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
}
