package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/errdefs"
)

type fakeSandboxes map[string]Target

func (f fakeSandboxes) Lookup(_ context.Context, id string) (Target, error) {
	if t, ok := f[id]; ok {
		return t, nil
	}
	return Target{}, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
}

func (f fakeSandboxes) Secured(context.Context) ([]Target, error) {
	var out []Target
	for _, t := range f {
		if !t.Paused && t.EnvdAccessToken != "" {
			out = append(out, t)
		}
	}
	return out, nil
}

// backends are plain loopback servers standing in for ports in sandboxes.
func setup(t *testing.T) (*httptest.Server, map[string]string) {
	t.Helper()
	backends := map[string]string{} // "id:port" -> address
	serve := func(id string, port int, h http.HandlerFunc) {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		backends[fmt.Sprintf("%s:%d", id, port)] = s.Listener.Addr().String()
	}
	echo := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s sid=%q body=%s", name, r.Method, r.URL.RequestURI(), r.Header.Get("E2b-Sandbox-Id"), b)
		}
	}
	serve("sba", AgentPort, echo("a-agent"))
	serve("sba", 8080, echo("a-8080"))
	serve("sbb", AgentPort, echo("b-agent"))
	sandboxes := fakeSandboxes{
		"sba": {ID: "sba", EnvdAccessToken: "tok-a"},
		"sbb": {ID: "sbb", EnvdAccessToken: "tok-b"},
		"sbp": {ID: "sbp", EnvdAccessToken: "tok-p", Paused: true},
	}
	dial := func(ctx context.Context, id string, port int) (net.Conn, error) {
		addr, ok := backends[fmt.Sprintf("%s:%d", id, port)]
		if !ok {
			return nil, fmt.Errorf("connection refused")
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	p := New(sandboxes, dial, "sandbox.test", slog.New(slog.DiscardHandler))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.Match(r) {
			http.Error(w, "api", http.StatusTeapot)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front, backends
}

func get(t *testing.T, front *httptest.Server, method, path, host string, h map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, front.URL+path, strings.NewReader(body))
	if host != "" {
		req.Host = host
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRouting(t *testing.T) {
	front, _ := setup(t)
	sig := func(path, op, user, tok string) string {
		return url.QueryEscape(files.Signature(path, op, user, tok, nil))
	}
	for _, tc := range []struct {
		name, method, path, host string
		headers                  map[string]string
		wantCode                 int
		wantPrefix               string
	}{
		{"headers default port", "POST", "/process.Process/List", "", map[string]string{"E2b-Sandbox-Id": "sba"}, 200, `a-agent POST /process.Process/List sid=""`},
		{"headers user port", "GET", "/x?y=1", "", map[string]string{"E2b-Sandbox-Id": "sba", "E2b-Sandbox-Port": "8080"}, 200, "a-8080 GET /x?y=1"},
		{"host route", "GET", "/page", "8080-sba.sandbox.test:3000", nil, 200, "a-8080 GET /page"},
		{"host route case", "GET", "/", "49983-SBB.Sandbox.Test", nil, 200, "b-agent"},
		{"not sandbox traffic", "GET", "/v2/sandboxes", "localhost", nil, 418, "api"},
		{"unknown sandbox", "GET", "/", "", map[string]string{"E2b-Sandbox-Id": "nope"}, 502, `{"code":502`},
		{"paused sandbox", "GET", "/", "", map[string]string{"E2b-Sandbox-Id": "sbp"}, 502, `{"code":502`},
		{"bad port", "GET", "/", "", map[string]string{"E2b-Sandbox-Id": "sba", "E2b-Sandbox-Port": "0"}, 400, `{"code":400`},
		{"closed port", "GET", "/", "", map[string]string{"E2b-Sandbox-Id": "sba", "E2b-Sandbox-Port": "9"}, 502, `{"code":502,"message":"port 9 of sandbox sba`},
		{"signed read goes to b", "GET", "/files?path=/f&signature=" + sig("/f", "read", "", "tok-b"), "", nil, 200, "b-agent GET /files"},
		{"signed write goes to a", "POST", "/files?path=/f&signature=" + sig("/f", "write", "", "tok-a"), "", nil, 200, "a-agent POST /files"},
		{"js sdk signs undefined", "GET", "/files?path=/f&signature=" + sig("/f", "read", "undefined", "tok-a"), "", nil, 200, "a-agent GET"},
		{"forged signature", "GET", "/files?path=/f&signature=" + sig("/f", "read", "", "guess"), "", nil, 401, `{"code":401`},
		{"paused sandbox never matches", "GET", "/files?path=/f&signature=" + sig("/f", "read", "", "tok-p"), "", nil, 401, `{"code":401`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, front, tc.method, tc.path, tc.host, tc.headers, "")
			if code != tc.wantCode || !strings.HasPrefix(body, tc.wantPrefix) {
				t.Errorf("%d %q, want %d %q...", code, body, tc.wantCode, tc.wantPrefix)
			}
		})
	}
}

func TestStreamsBothWays(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d\n", n)
		w.(http.Flusher).Flush()
		<-release // the client must see the first line before this returns
		fmt.Fprintln(w, "done")
	}))
	defer backend.Close()
	dial := func(ctx context.Context, _ string, _ int) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", backend.Listener.Addr().String())
	}
	p := New(fakeSandboxes{"s": {ID: "s"}}, dial, "x", slog.New(slog.DiscardHandler))
	front := httptest.NewServer(p)
	defer front.Close()
	req, _ := http.NewRequest("POST", front.URL+"/", io.LimitReader(zeroReader{}, 64<<20))
	req.Header.Set("E2b-Sandbox-Id", "s")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if got := string(buf[:n]); got != fmt.Sprintf("got %d\n", 64<<20) {
		t.Fatalf("first chunk %q", got)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "done\n" {
		t.Errorf("rest %q", rest)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestWebsocketUpgrade sends a raw upgrade through the proxy to a backend
// that switches protocols and echoes: both directions must flow.
func TestWebsocketUpgrade(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		buf.Flush()
		line, _ := buf.ReadString('\n')
		buf.WriteString("echo: " + line)
		buf.Flush()
	}))
	defer backend.Close()
	dial := func(ctx context.Context, _ string, _ int) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", backend.Listener.Addr().String())
	}
	front := httptest.NewServer(New(fakeSandboxes{"s": {ID: "s"}}, dial, "x", slog.New(slog.DiscardHandler)))
	defer front.Close()
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	r := bufio.NewReader(conn)
	status, _ := r.ReadString('\n')
	if !strings.Contains(status, "101") {
		t.Fatalf("status %q", status)
	}
	for {
		line, _ := r.ReadString('\n')
		if line == "\r\n" || line == "" {
			break
		}
	}
	fmt.Fprintf(conn, "hello\n")
	got, _ := r.ReadString('\n')
	if got != "echo: hello\n" {
		t.Errorf("through the upgraded connection: %q", got)
	}
}
