package telemetry

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/soulbox/soulbox/internal/agent/timing"
)

// forgedTiming is a Server-Timing header a sandbox could send: thousands
// of entries, dated 1970 and far in the future, of the agent's step names
// and of made-up ones.
func forgedTiming() string {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		name := timing.ProcessStart
		switch i % 3 {
		case 1:
			name = fmt.Sprintf("made.up.%d", i)
		case 2:
			name = timing.FilesWrite
		}
		ns := int64(i) // 1970
		if i%2 == 1 {
			ns = time.Now().Add(100 * 365 * 24 * time.Hour).UnixNano()
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `%s;dur=1000;desc="%d"`, name, ns)
	}
	return b.String()
}

// proxyWithTiming proxies one request to target whose response carries
// the header value, and returns the spans recorded.
func proxyWithTiming(t *testing.T, target, value string) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	m := New()
	m.tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	h := m.Proxy(func(*http.Request) string { return target }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(timing.Header, value)
		w.WriteHeader(200)
	}))
	out := httptest.NewRecorder()
	h.ServeHTTP(out, httptest.NewRequest("GET", "/", nil))
	if got := out.Header().Get(timing.Header); got != value {
		t.Errorf("the response's own Server-Timing was changed (%d bytes, want %d)", len(got), len(value))
	}
	return rec.Ended()
}

// TestForgedTimingOnPort: a user server's Server-Timing is passed on to
// the caller as it is and makes no span.
func TestForgedTimingOnPort(t *testing.T) {
	spans := proxyWithTiming(t, "port", forgedTiming())
	if len(spans) != 1 || spans[0].Name() != "proxy port" {
		names := []string{}
		for _, s := range spans {
			names = append(names, s.Name())
		}
		t.Fatalf("%d spans (%v), want only the proxy's", len(spans), names[:min(len(names), 5)])
	}
}

// TestForgedTimingOnAgent: from the agent's port, a forged header makes
// at most timing.MaxEntries spans, of the agent's step names only, each
// inside the proxy's span.
func TestForgedTimingOnAgent(t *testing.T) {
	spans := proxyWithTiming(t, "agent", forgedTiming())
	var proxy sdktrace.ReadOnlySpan
	var agent []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "proxy agent" {
			proxy = s
		} else {
			agent = append(agent, s)
		}
	}
	if proxy == nil {
		t.Fatal("no proxy span")
	}
	if len(agent) == 0 || len(agent) > timing.MaxEntries {
		t.Fatalf("%d agent spans, want 1 to %d", len(agent), timing.MaxEntries)
	}
	for _, s := range agent {
		if s.Name() != "agent "+timing.ProcessStart && s.Name() != "agent "+timing.FilesWrite {
			t.Errorf("span %q", s.Name())
		}
		if s.StartTime().Before(proxy.StartTime()) || s.EndTime().After(proxy.EndTime()) || s.EndTime().Before(s.StartTime()) {
			t.Errorf("span %s from %v to %v, outside the proxy's %v to %v", s.Name(), s.StartTime(), s.EndTime(), proxy.StartTime(), proxy.EndTime())
		}
		if s.Parent().SpanID() != proxy.SpanContext().SpanID() {
			t.Errorf("span %s is not the proxy span's child", s.Name())
		}
	}
}

// TestAgentTimingKept: an honest entry of the agent is a span at its own
// times when they are inside the proxy's span.
func TestAgentTimingKept(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	m := New()
	m.tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	var began, ended time.Time
	h := m.Proxy(func(*http.Request) string { return "agent" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began = time.Now()
		time.Sleep(2 * time.Millisecond)
		ended = time.Now()
		timing.Add(w.Header(), timing.ProcessStart, began, ended)
		w.WriteHeader(200)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for _, s := range rec.Ended() {
		if s.Name() == "agent "+timing.ProcessStart {
			if !s.StartTime().Equal(began) || s.EndTime().Sub(s.StartTime()) != ended.Sub(began).Truncate(time.Microsecond) {
				t.Errorf("span from %v to %v, want %v to %v", s.StartTime(), s.EndTime(), began, ended)
			}
			return
		}
	}
	t.Error("no agent span")
}
