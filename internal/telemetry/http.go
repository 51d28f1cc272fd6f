package telemetry

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"

	"github.com/soulbox/soulbox/internal/envd"
)

// RouteFunc names the route pattern a request matches ("/sandboxes/{id}"),
// or "" when none does.
type RouteFunc func(r *http.Request) string

// unmatched is the route label of a request no route took.
const unmatched = "unmatched"

// HTTP wraps an API handler to count its requests and time them by route
// pattern, method and status code. A request that creates a sandbox also
// records the create's latency, split warm or cold by what the store was
// told (see Store).
func (m *Metrics) HTTP(route RouteFunc, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		obs := &createObservation{}
		rw := &recorder{ResponseWriter: w}
		rt := route(r)
		if rt == "" {
			rt = unmatched
		}
		method := methodLabel(r.Method)
		var name string
		if m.tracer != nil {
			name = method + " " + rt
		}
		ctx, sp := m.serverSpan(r, name)
		next.ServeHTTP(rw, r.WithContext(context.WithValue(ctx, createKey{}, obs)))
		took := time.Since(start).Seconds()
		if sp.IsRecording() {
			endServerSpan(sp, rw.status(), attribute.String("http.route", rt))
		}
		code := strconv.Itoa(rw.status())
		m.httpRequests.WithLabelValues(rt, method, code).Inc()
		m.httpDuration.WithLabelValues(rt, method, code).Observe(took)
		if tmpl, warm, ok := obs.get(); ok && rw.status() < 300 {
			start := "cold"
			if warm {
				start = "warm"
			}
			m.createDuration.WithLabelValues(m.templateLabel(tmpl), start).Observe(took)
		}
	})
}

// Proxy wraps the sandbox-traffic proxy to count its requests and bytes
// by target and status code. target names where a request goes: "agent",
// "interpreter" or "port".
func (m *Metrics) Proxy(target func(r *http.Request) string, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &recorder{ResponseWriter: w}
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		t := target(r)
		ctx, sp := m.serverSpan(r, "proxy "+t)
		spanStart := time.Now()
		if m.tracer != nil {
			// The sandbox sees this span as its caller.
			propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(rw, r)
		if sp.IsRecording() {
			if t == "agent" {
				m.agentSpans(ctx, w.Header(), spanStart, time.Now())
			}
			endServerSpan(sp, rw.status(), attribute.String("soulbox.proxy.target", t))
		}
		code := strconv.Itoa(rw.status())
		m.proxyRequests.WithLabelValues(t, code).Inc()
		m.proxyDuration.WithLabelValues(t, code).Observe(time.Since(start).Seconds())
		m.proxyBytes.WithLabelValues(t, "in", code).Add(float64(body.n.Load()))
		m.proxyBytes.WithLabelValues(t, "out", code).Add(float64(rw.written))
	})
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// PatternPath is the path of a ServeMux pattern, without its method and
// host: "GET /sandboxes/{id}" is "/sandboxes/{id}".
func PatternPath(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}

// recorder remembers the status code and counts the bytes of a response,
// passing on flushes (server-sent and streamed responses) and hijacks
// (WebSocket upgrades through the proxy).
type recorder struct {
	http.ResponseWriter
	code    int
	written int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.written += int64(n)
	return n, err
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Flush sends what was written so far when the writer can.
func (r *recorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack hands the connection over, for upgrades; the status is 101.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the writer's other abilities
// (deadlines, full duplex).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// countingBody counts the bytes read from a request body.
// The transport may still be sending the body when the response is in,
// hence the atomic count.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// PortTarget is the target label of sandbox traffic to port: "agent",
// "interpreter", "port" for any other, or "invalid" for 0.
func PortTarget(port int) string {
	switch port {
	case envd.Port:
		return "agent"
	case envd.CodeInterpreterPort:
		return "interpreter"
	case 0:
		return "invalid"
	}
	return "port"
}
