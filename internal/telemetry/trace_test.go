package telemetry

import (
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestProxyPropagatesTrace: sandbox traffic reaches the sandbox with a
// traceparent naming the proxy's span, itself a child of the caller's.
func TestProxyPropagatesTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	m := New()
	m.tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	var seen string
	h := m.Proxy(func(*http.Request) string { return "agent" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("traceparent")
		w.WriteHeader(204)
	}))
	const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req := httptest.NewRequest("GET", "/health", nil)
	req.Header.Set("traceparent", caller)
	h.ServeHTTP(httptest.NewRecorder(), req)

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "proxy agent" || sp.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || sp.Parent().SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("span %s trace %s parent %s", sp.Name(), sp.SpanContext().TraceID(), sp.Parent().SpanID())
	}
	want := "00-0af7651916cd43dd8448eb211c80319c-" + sp.SpanContext().SpanID().String() + "-01"
	if seen != want {
		t.Errorf("the sandbox got traceparent %q, want %q", seen, want)
	}
}

// TestNoTracingWithoutConfig: without OTEL_* variables nothing is traced
// and the caller's traceparent passes through untouched.
func TestNoTracingWithoutConfig(t *testing.T) {
	if TracingConfigured(func(string) string { return "" }) {
		t.Fatal("tracing on with no variables")
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
	if TracingConfigured(func(k string) string { return env[k] }) {
		t.Error("tracing on with OTEL_SDK_DISABLED=true")
	}
	delete(env, "OTEL_SDK_DISABLED")
	if !TracingConfigured(func(k string) string { return env[k] }) {
		t.Error("tracing off with an endpoint")
	}
	m := New()
	var seen string
	h := m.Proxy(func(*http.Request) string { return "agent" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("traceparent")
	}))
	const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req := httptest.NewRequest("GET", "/health", nil)
	req.Header.Set("traceparent", caller)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen != caller {
		t.Errorf("traceparent %q, want the caller's", seen)
	}
}
