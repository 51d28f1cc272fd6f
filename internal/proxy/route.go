package proxy

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/sandboxhost"
)

// route is where a request goes. ServeHTTP puts it in the request's
// context for the rewrite, which writes it into the upstream URL's host.
type route struct {
	id   string
	port int
	// host, when set, replaces the Host header the sandbox sees.
	host string
	// byHost says the request named its sandbox by its host, an origin
	// of the sandbox's own (see isolate).
	byHost bool
}

type routeKey struct{}

// route finds where r goes and checks that it may go there.
//
// A sandbox that is unknown, ended or paused answers 502, as E2B's edge
// does: the SDKs read 502 on the agent as "not running"
// (Sandbox.isRunning, the health check after a cut stream) and turn it
// into a timeout error that tells the user the sandbox is gone, where 404
// would surface as "unimplemented" from the Connect clients and 409 as an
// unknown error. A paused sandbox is refused at once rather than
// forwarded, because its frozen agent would hold the request until it is
// resumed.
func (p *Proxy) route(r *http.Request) (route, error) {
	var rt route
	switch {
	case r.Header.Get(headerSandboxID) != "":
		rt.id, rt.port = r.Header.Get(headerSandboxID), envd.Port
		if s := r.Header.Get(headerSandboxPort); s != "" {
			port, err := parsePort(s)
			if err != nil {
				return rt, err
			}
			rt.port = port
		}
	default:
		if id, ps, ok := p.hostRoute(r.Host); ok {
			port, err := parsePort(ps)
			if err != nil {
				return rt, err
			}
			rt.id, rt.port, rt.byHost = id, port, true
			break
		}
		t, err := p.bySignature(r)
		if err != nil {
			return rt, err
		}
		// Looked up again below: the sandbox may have been paused since.
		rt.id, rt.port = t.ID, envd.Port
	}

	t, err := p.sandboxes.Lookup(r.Context(), rt.id)
	switch {
	case errdefs.IsNotFound(err):
		return rt, sandboxNotFound(rt.id)
	case err != nil:
		return rt, internalError(fmt.Errorf("look up sandbox %q: %w", rt.id, err))
	}
	if err := checkTrafficToken(r, t, rt.port); err != nil {
		return rt, err
	}
	if ar, ok := p.sandboxes.(AutoResumer); ok && t.Paused && t.AutoResume {
		t, err = ar.AutoResume(r.Context(), rt.id)
		switch {
		case errdefs.IsNotFound(err):
			return rt, sandboxNotFound(rt.id)
		case err != nil:
			return rt, internalError(fmt.Errorf("resume sandbox %q: %w", rt.id, err))
		}
	}
	if t.Paused {
		return rt, errorf(http.StatusBadGateway, "sandbox %s is paused: connect to it to resume it", rt.id)
	}
	if t.MaskRequestHost != "" && rt.port != envd.Port && rt.port != envd.CodeInterpreterPort {
		rt.host = strings.ReplaceAll(t.MaskRequestHost, "${PORT}", strconv.Itoa(rt.port))
	}
	return rt, nil
}

// hostRoute splits a host <port>-<id>.<domain>, with or without a :port
// of the listener, into its sandbox id and port. The port is returned as
// written, digits only, for parsePort to judge: a host of this form is
// sandbox traffic even when its port is out of range.
func (p *Proxy) hostRoute(host string) (id, port string, ok bool) {
	if p.domain == "" {
		return "", "", false
	}
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, ok := strings.CutSuffix(strings.TrimSuffix(host, "."), "."+p.domain)
	if !ok || strings.Contains(label, ".") {
		return "", "", false
	}
	port, id, ok = sandboxhost.SplitLabel(label)
	return id, port, ok
}

// parsePort accepts a TCP port, 1-65535, in decimal.
func parsePort(s string) (int, error) {
	n, ok := sandboxhost.ParsePort(s)
	if !ok {
		return 0, errorf(http.StatusBadRequest, "sandbox port %q: use 1-65535, in decimal without leading zeros", s)
	}
	return n, nil
}

// checkTrafficToken enforces a sandbox's traffic access token on its user
// ports. The agent and the code interpreter check the envd access token
// themselves, so their ports are exempt, as in E2B.
func checkTrafficToken(r *http.Request, t Target, port int) error {
	if t.TrafficAccessToken == "" || port == envd.Port || port == envd.CodeInterpreterPort {
		return nil
	}
	got := r.Header.Get(headerTrafficToken)
	if subtle.ConstantTimeCompare([]byte(got), []byte(t.TrafficAccessToken)) == 1 {
		return nil
	}
	if got == "" {
		return errorf(http.StatusForbidden, "port %d of sandbox %s needs the sandbox's traffic access token in the E2B-Traffic-Access-Token header", port, t.ID)
	}
	return errorf(http.StatusForbidden, "the E2B-Traffic-Access-Token header does not hold the traffic access token of sandbox %s", t.ID)
}

// Port is the sandbox port sandbox traffic r names, the agent's when it
// names none, or 0 when the port it names is not one. It only reads the
// request: whether the sandbox exists is ServeHTTP's to judge.
func (p *Proxy) Port(r *http.Request) int {
	s := r.Header.Get(headerSandboxPort)
	if r.Header.Get(headerSandboxID) == "" {
		s = ""
		if _, ps, ok := p.hostRoute(r.Host); ok {
			s = ps
		}
	}
	if s == "" {
		return envd.Port
	}
	port, err := parsePort(s)
	if err != nil {
		return 0
	}
	return port
}
