package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"syscall"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/logx"
)

// upstreamSuffix ends the made-up host of every upstream URL. .invalid
// never resolves (RFC 2606), and nothing resolves it: the transport's
// dialer parses it.
const upstreamSuffix = ".sandbox.invalid"

// newTransport returns the transport into sandboxes.
//
// The route travels from the request's context to the dialer in the
// upstream URL's host, <port>-<id>.sandbox.invalid, rather than in the
// dial's context: the transport pools connections and hands a finished
// dial to whichever waiting request has the same host, so the host must
// be what tells sandboxes apart.
//
// Every request gets a fresh connection (DisableKeepAlives). A dial into a
// sandbox is a setns and a connect on its loopback, well under a
// millisecond; a pool would add the race every keep-alive proxy has when
// the upstream closes an idle connection just as a request is sent on it
// (Node servers do after 5 s), which for a POST, never retried, is a 502
// the user did nothing to cause, and it would keep connections into
// sandboxes that have been killed.
func newTransport(dial DialFunc) *http.Transport {
	return &http.Transport{
		// No Proxy: sandbox traffic never goes to $HTTP_PROXY.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			rt, err := parseUpstream(addr)
			if err != nil {
				return nil, err
			}
			return dial(ctx, rt.id, rt.port)
		},
		DisableKeepAlives:  true,
		DisableCompression: true, // pass the client's Accept-Encoding and the body as they are
		// No ResponseHeaderTimeout: a user's server may take its time,
		// and the client decides how long it waits.
	}
}

func (rt route) upstreamHost() string {
	return strconv.Itoa(rt.port) + "-" + rt.id + upstreamSuffix
}

// parseUpstream reads the route back from the transport's "host:port".
func parseUpstream(addr string) (route, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	label, ok := strings.CutSuffix(host, upstreamSuffix)
	ps, id, ok2 := strings.Cut(label, "-")
	port, err := strconv.Atoi(ps)
	if !ok || !ok2 || err != nil || id == "" {
		return route{}, fmt.Errorf("upstream address %q names no sandbox port", addr)
	}
	return route{id: id, port: port}, nil
}

// rewrite points the outgoing request at the route ServeHTTP chose and
// drops what only the proxy reads, and SoulBox's own credentials, which
// a sandbox must never see: the API key (X-API-Key, or a bearer token in
// the key's form). The agent's credentials (X-Access-Token, Basic
// Authorization, and the traffic token on the interpreter's port) pass
// unchanged: the agent checks them.
func rewrite(pr *httputil.ProxyRequest) {
	rt := pr.In.Context().Value(routeKey{}).(route)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = rt.upstreamHost()
	pr.Out.Host = pr.In.Host
	if rt.host != "" {
		pr.Out.Host = rt.host
	}
	for _, h := range []string{headerSandboxID, headerSandboxPort, "X-Api-Key"} {
		pr.Out.Header.Del(h)
	}
	// The code interpreter checks the traffic token itself (its context
	// routes take it); a user's server never sees it.
	if rt.port != envd.CodeInterpreterPort {
		pr.Out.Header.Del(headerTrafficToken)
	}
	if isAPIKeyBearer(pr.Out.Header.Get("Authorization")) {
		pr.Out.Header.Del("Authorization")
	}
	pr.SetXForwarded()
}

// isAPIKeyBearer reports whether an Authorization value is a bearer token
// in the form of a SoulBox API key.
func isAPIKeyBearer(v string) bool {
	scheme, tok, ok := strings.Cut(v, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && auth.ValidFormat(strings.TrimSpace(tok))
}

// closeAfterResponse closes the client's connection after each proxied
// response. SDKs abort a stream's request once they have its end event; on
// a kept-alive connection that abort can land on the next request sent
// over the same socket and cut it ("terminated"). An upgraded connection
// (websockets) is left alone: it is the stream.
func closeAfterResponse(resp *http.Response) error {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Header.Set("Connection", "close")
	}
	return nil
}

// upstreamError answers a request the sandbox did not answer. All are
// 502, which the SDKs show with the message.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	rt, _ := r.Context().Value(routeKey{}).(route)
	switch {
	case r.Context().Err() != nil:
		// The client has gone; nobody reads this.
		w.WriteHeader(http.StatusBadGateway)
	case errors.Is(err, syscall.ECONNREFUSED):
		p.fail(w, r, portClosed(rt.id, rt.port))
	case errdefs.IsNotFound(err), errdefs.IsFailedPrecondition(err):
		// Ended between the lookup and the dial.
		p.fail(w, r, sandboxNotFound(rt.id))
	default:
		p.log.Warn("proxy: sandbox port did not answer", logx.Sandbox(rt.id), "port", rt.port, logx.Err(err))
		httperr.WriteBody(w, http.StatusBadGateway, fmt.Sprintf("port %d of sandbox %s did not answer: the server log has the details", rt.port, rt.id))
	}
}
