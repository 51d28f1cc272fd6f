package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSandboxes is the lifecycle manager's view of sandboxes. Secured
// returns every target that is not paused, including any without a token,
// which the real one leaves out: the proxy must not trust that.
type fakeSandboxes struct {
	targets    map[string]Target
	lookupErr  map[string]error
	securedErr error
	resumed    []string // ids AutoResume was asked for
}

func (f *fakeSandboxes) AutoResume(_ context.Context, id string) (Target, error) {
	f.resumed = append(f.resumed, id)
	t := f.targets[id]
	t.Paused, t.AutoResume = false, false
	return t, nil
}

func (f *fakeSandboxes) Lookup(_ context.Context, id string) (Target, error) {
	if err := f.lookupErr[id]; err != nil {
		return Target{}, err
	}
	if t, ok := f.targets[id]; ok {
		return t, nil
	}
	return Target{}, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}

func (f *fakeSandboxes) Secured(context.Context) ([]Target, error) {
	if f.securedErr != nil {
		return nil, f.securedErr
	}
	var out []Target
	for _, t := range f.targets {
		if !t.Paused {
			out = append(out, t)
		}
	}
	return out, nil
}

// fakeDialer stands in for the runtime's dialer: ports inside sandboxes
// are loopback listeners started by the test. A port nobody serves is
// dialed at a closed loopback port, so the refusal is the kernel's.
type fakeDialer struct {
	backends map[string]string // "id:port" -> address
	errs     map[string]error  // "id:port" -> error of the dial
	closed   string            // an address nothing listens on
}

func newFakeDialer(t *testing.T) *fakeDialer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	return &fakeDialer{backends: map[string]string{}, errs: map[string]error{}, closed: closed}
}

func (d *fakeDialer) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	key := fmt.Sprintf("%s:%d", id, port)
	if err := d.errs[key]; err != nil {
		return nil, err
	}
	addr, ok := d.backends[key]
	if !ok {
		addr = d.closed
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: dial port %d: %w", id, port, err)
	}
	return conn, nil
}

// serve starts a backend for port of sandbox id.
func (d *fakeDialer) serve(t *testing.T, id string, port int, h http.Handler) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	d.backends[fmt.Sprintf("%s:%d", id, port)] = s.Listener.Addr().String()
}

// echoed is what the echo backends saw.
type echoed struct {
	Backend string
	Method  string
	URI     string
	Host    string
	Header  http.Header
	Body    string
}

func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(echoed{name, r.Method, r.RequestURI, r.Host, r.Header, string(b)})
	}
}

const (
	tokAbc     = "envd-token-abc"
	tokXyz     = "envd-token-xyz"
	trafficSec = "traffic-token-sec"
)

type harness struct {
	front     *httptest.Server
	client    *http.Client
	sandboxes *fakeSandboxes
	dialer    *fakeDialer
}

// setup starts a front server that, like the SoulBox server, gives the
// proxy what it matches and answers 418 "api" for the rest. Sandboxes:
// abc and xyz (agents, abc also 8080), sec (a traffic token, agent, code
// interpreter and 8080), paused, open (no envd token), broken (lookups
// fail) and gone (running in the store, not in the runtime).
func setup(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		sandboxes: &fakeSandboxes{
			targets: map[string]Target{
				"abc":    {ID: "abc", EnvdAccessToken: tokAbc},
				"xyz":    {ID: "xyz", EnvdAccessToken: tokXyz},
				"sec":    {ID: "sec", EnvdAccessToken: "envd-token-sec", TrafficAccessToken: trafficSec},
				"paused": {ID: "paused", EnvdAccessToken: "envd-token-paused", Paused: true},
				"open":   {ID: "open"},
				"gone":   {ID: "gone", EnvdAccessToken: "envd-token-gone"},
				"mask":   {ID: "mask", MaskRequestHost: "app.internal:${PORT}"},
			},
			lookupErr: map[string]error{"broken": errors.New("disk on fire")},
		},
		dialer: newFakeDialer(t),
	}
	d := h.dialer
	d.serve(t, "abc", envd.Port, echo("abc-agent"))
	d.serve(t, "abc", 8080, echo("abc-8080"))
	d.serve(t, "xyz", envd.Port, echo("xyz-agent"))
	d.serve(t, "sec", envd.Port, echo("sec-agent"))
	d.serve(t, "sec", envd.CodeInterpreterPort, echo("sec-interpreter"))
	d.serve(t, "sec", 8080, echo("sec-8080"))
	d.serve(t, "open", envd.Port, echo("open-agent"))
	d.serve(t, "paused", envd.Port, echo("paused-agent"))
	d.serve(t, "mask", envd.Port, echo("mask-agent"))
	d.serve(t, "mask", 8080, echo("mask-8080"))
	d.errs[fmt.Sprintf("gone:%d", envd.Port)] = fmt.Errorf("sandbox %q is not running: %w", "gone", errdefs.ErrFailedPrecondition)

	p := New(h.sandboxes, d.DialContext, "Sandbox.Test", slog.New(slog.DiscardHandler))
	h.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.Match(r) {
			http.Error(w, "api", http.StatusTeapot)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(h.front.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	h.client = &http.Client{Transport: tr}
	return h
}

type request struct {
	method, path, host string
	header             map[string]string
	body               io.Reader
}

type response struct {
	code   int
	header http.Header
	body   string
	echo   echoed // when a backend answered
	close  bool
}

func (h *harness) do(t *testing.T, rq request) response {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	req, err := http.NewRequest(rq.method, h.front.URL+rq.path, rq.body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{code: resp.StatusCode, header: resp.Header, body: string(b), close: resp.Close}
	if resp.Header.Get("X-Backend") != "" && rq.method != http.MethodHead {
		if err := json.Unmarshal(b, &out.echo); err != nil {
			t.Fatalf("backend answer %q: %v", b, err)
		}
	}
	return out
}

// errorBody checks that r is a {code, message} error of status code whose
// message contains want, and returns the message.
func errorBody(t *testing.T, r response, code int, want string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d (%s), want %d", r.code, r.body, code)
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Code != code || !strings.Contains(e.Message, want) {
		t.Fatalf("error %d %q, want %d containing %q", e.Code, e.Message, code, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return e.Message
}

func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestRoutes(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct {
		name    string
		req     request
		backend string
		uri     string
	}{
		{"headers, default port", request{method: "POST", path: "/process.Process/List", header: hdr("E2b-Sandbox-Id", "abc")}, "abc-agent", "/process.Process/List"},
		{"headers, agent port", request{path: "/health", header: hdr("E2b-Sandbox-Id", "xyz", "E2b-Sandbox-Port", "49983")}, "xyz-agent", "/health"},
		{"headers, user port", request{path: "/x?y=1&z=%2F", header: hdr("e2b-sandbox-id", "abc", "e2b-sandbox-port", "8080")}, "abc-8080", "/x?y=1&z=%2F"},
		{"host with listener port", request{path: "/page", host: "49983-abc.sandbox.test:3000"}, "abc-agent", "/page"},
		{"host, user port", request{path: "/", host: "8080-abc.sandbox.test"}, "abc-8080", "/"},
		{"host, case", request{path: "/", host: "49983-XYZ.SandBox.TEST:3000"}, "xyz-agent", "/"},
		{"host, trailing dot", request{path: "/", host: "49983-xyz.sandbox.test."}, "xyz-agent", "/"},
		{"header beats host", request{path: "/", host: "8080-abc.sandbox.test", header: hdr("E2b-Sandbox-Id", "xyz")}, "xyz-agent", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.req)
			if r.code != http.StatusOK || r.echo.Backend != tc.backend || r.echo.URI != tc.uri {
				t.Fatalf("%d %s %s, want 200 from %s for %s (body %s)", r.code, r.echo.Backend, r.echo.URI, tc.backend, tc.uri, r.body)
			}
			if tc.req.method != "" && r.echo.Method != tc.req.method {
				t.Errorf("method %s, want %s", r.echo.Method, tc.req.method)
			}
			if !r.close {
				t.Error("a proxied response must close its connection")
			}
		})
	}
}

func TestNotSandboxTraffic(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct{ name, path, host string }{
		{"api host", "/v2/sandboxes", "localhost:3000"},
		{"domain itself", "/", "sandbox.test"},
		{"no port", "/", "abc.sandbox.test"},
		{"port not numeric", "/", "web-abc.sandbox.test"},
		{"no id", "/", "8080-.sandbox.test"},
		{"nested label", "/", "8080-abc.x.sandbox.test"},
		{"other domain", "/", "8080-abc.sandbox.test.evil"},
		{"files without signature", "/files?path=/f", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, request{path: tc.path, host: tc.host})
			if r.code != http.StatusTeapot {
				t.Errorf("%d %s, want the API's 418", r.code, r.body)
			}
		})
	}
	// Routing header without an id: not traffic either.
	if r := h.do(t, request{path: "/", header: hdr("E2b-Sandbox-Port", "8080")}); r.code != http.StatusTeapot {
		t.Errorf("port header alone: %d", r.code)
	}
}

func TestHostRoutingNeedsADomain(t *testing.T) {
	p := New(&fakeSandboxes{}, newFakeDialer(t).DialContext, "", slog.New(slog.DiscardHandler))
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "8080-abc"
	if p.Match(r) {
		t.Error("with no domain, no host is a sandbox host")
	}
}

func TestErrors(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct {
		name string
		req  request
		code int
		msg  string
	}{
		{"paused", request{header: hdr("E2b-Sandbox-Id", "paused")}, 502, "sandbox paused is paused: connect to it to resume it"},
		{"port 0", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "0")}, 400, `sandbox port "0": use 1-65535`},
		{"port too big", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "65536")}, 400, "use 1-65535"},
		{"port negative", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "-1")}, 400, "use 1-65535"},
		{"port not numeric", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "http")}, 400, "use 1-65535"},
		{"host port 0", request{host: "0-abc.sandbox.test"}, 400, "use 1-65535"},
		{"host port too big", request{host: "99999-abc.sandbox.test:3000"}, 400, "use 1-65535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errorBody(t, h.do(t, tc.req), tc.code, tc.msg)
		})
	}
	// The SDKs tell a dead sandbox from a closed port by E2B's bodies,
	// which are not {code, message}.
	for _, tc := range []struct {
		name string
		req  request
		body string
	}{
		{"unknown sandbox", request{header: hdr("E2b-Sandbox-Id", "nope")}, `{"message":"The sandbox was not found","sandboxId":"nope","code":502}`},
		{"unknown sandbox by host", request{host: "49983-nope.sandbox.test"}, `{"message":"The sandbox was not found","sandboxId":"nope","code":502}`},
		{"ended before the dial", request{header: hdr("E2b-Sandbox-Id", "gone")}, `{"message":"The sandbox was not found","sandboxId":"gone","code":502}`},
		{"closed port", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "9")}, `{"message":"The sandbox is running but port is not open","sandboxId":"abc","port":9,"code":502}`},
		{"closed port by host", request{host: "3000-xyz.sandbox.test"}, `{"message":"The sandbox is running but port is not open","sandboxId":"xyz","port":3000,"code":502}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.req)
			if r.code != http.StatusBadGateway || strings.TrimSpace(r.body) != tc.body {
				t.Errorf("%d %s, want 502 %s", r.code, r.body, tc.body)
			}
		})
	}
	t.Run("lookup fails", func(t *testing.T) {
		msg := errorBody(t, h.do(t, request{header: hdr("E2b-Sandbox-Id", "broken")}), 500, "internal error")
		if strings.Contains(msg, "fire") {
			t.Errorf("the client sees the cause: %q", msg)
		}
	})
}

func TestTrafficAccessToken(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct {
		name    string
		req     request
		backend string // "" when refused with 403
		msg     string
	}{
		{"user port without token", request{header: hdr("E2b-Sandbox-Id", "sec", "E2b-Sandbox-Port", "8080")}, "", "port 8080 of sandbox sec needs the sandbox's traffic access token"},
		{"user port, wrong token", request{header: hdr("E2b-Sandbox-Id", "sec", "E2b-Sandbox-Port", "8080", "E2B-Traffic-Access-Token", "guess")}, "", "does not hold the traffic access token of sandbox sec"},
		{"user port, envd token instead", request{header: hdr("E2b-Sandbox-Id", "sec", "E2b-Sandbox-Port", "8080", "X-Access-Token", "envd-token-sec")}, "", "needs the sandbox's traffic access token"},
		{"user port by host, wrong token", request{host: "8080-sec.sandbox.test", header: hdr("E2B-Traffic-Access-Token", trafficSec+"x")}, "", "does not hold"},
		{"user port with token", request{header: hdr("E2b-Sandbox-Id", "sec", "E2b-Sandbox-Port", "8080", "E2B-Traffic-Access-Token", trafficSec)}, "sec-8080", ""},
		{"user port by host with token", request{host: "8080-sec.sandbox.test", header: hdr("e2b-traffic-access-token", trafficSec)}, "sec-8080", ""},
		{"agent needs none", request{header: hdr("E2b-Sandbox-Id", "sec")}, "sec-agent", ""},
		{"code interpreter needs none", request{host: "49999-sec.sandbox.test"}, "sec-interpreter", ""},
		{"no token set, user port open", request{header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "8080")}, "abc-8080", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.req)
			if tc.backend == "" {
				msg := errorBody(t, r, http.StatusForbidden, tc.msg)
				if strings.Contains(msg, trafficSec) {
					t.Errorf("the message shows the token: %q", msg)
				}
				return
			}
			if r.code != http.StatusOK || r.echo.Backend != tc.backend {
				t.Fatalf("%d %s, want 200 from %s", r.code, r.body, tc.backend)
			}
		})
	}
}

// TestHeaders checks what the sandbox sees: the routing headers and the
// traffic token gone, the agent's credentials as sent, X-Forwarded-For
// set by the proxy (not the client), the Host as the client sent it.
func TestHeaders(t *testing.T) {
	h := setup(t)
	r := h.do(t, request{
		method: "POST",
		path:   "/files?path=%2Fhome%2Fuser%2Fa%20b",
		body:   strings.NewReader("payload"),
		header: hdr(
			"E2b-Sandbox-Id", "sec", "E2b-Sandbox-Port", "8080",
			"E2B-Traffic-Access-Token", trafficSec,
			"X-Access-Token", "envd-token-sec",
			"Authorization", "Basic dXNlcjo=",
			"X-Forwarded-For", "6.6.6.6",
			"Accept-Encoding", "gzip",
			"Connect-Timeout-Ms", "60000",
		),
	})
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	got := r.echo
	for _, k := range []string{"E2b-Sandbox-Id", "E2b-Sandbox-Port", "E2b-Traffic-Access-Token"} {
		if v, ok := got.Header[k]; ok {
			t.Errorf("%s reached the sandbox: %q", k, v)
		}
	}
	for k, want := range map[string]string{
		"X-Access-Token":     "envd-token-sec",
		"Authorization":      "Basic dXNlcjo=",
		"X-Forwarded-For":    "127.0.0.1",
		"Accept-Encoding":    "gzip",
		"Connect-Timeout-Ms": "60000",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if want := strings.TrimPrefix(h.front.URL, "http://"); got.Host != want {
		t.Errorf("Host %q, want the client's %q", got.Host, want)
	}
	if got.URI != "/files?path=%2Fhome%2Fuser%2Fa%20b" || got.Body != "payload" || got.Method != "POST" {
		t.Errorf("request %s %s %q", got.Method, got.URI, got.Body)
	}
}

// A paused sandbox that traffic resumes is resumed only for a request
// that passed its traffic token check: an outsider cannot wake it.
func TestAutoResumeAfterTokenCheck(t *testing.T) {
	sbs := &fakeSandboxes{targets: map[string]Target{
		"sleepy": {ID: "sleepy", TrafficAccessToken: "tok-sleepy", Paused: true, AutoResume: true},
	}}
	p := New(sbs, func(ctx context.Context, id string, port int) (net.Conn, error) {
		return nil, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}, "sandbox.test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	do := func(token string) int {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("E2b-Sandbox-Id", "sleepy")
		r.Header.Set("E2b-Sandbox-Port", "8080")
		if token != "" {
			r.Header.Set("E2B-Traffic-Access-Token", token)
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		return w.Code
	}
	if code := do(""); code != http.StatusForbidden || len(sbs.resumed) != 0 {
		t.Errorf("without the token: %d, resumed %v; want 403 and no resume", code, sbs.resumed)
	}
	if code := do("wrong"); code != http.StatusForbidden || len(sbs.resumed) != 0 {
		t.Errorf("with a wrong token: %d, resumed %v; want 403 and no resume", code, sbs.resumed)
	}
	do("tok-sleepy")
	if len(sbs.resumed) != 1 {
		t.Errorf("with the token: resumed %v, want it resumed once", sbs.resumed)
	}
}
