package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/soulbox/soulbox/internal/version"
)

// TracingConfigured reports whether the standard OpenTelemetry variables
// ask for traces: an OTLP endpoint is set and the SDK is not disabled.
func TracingConfigured(getenv func(string) string) bool {
	if v, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); v {
		return false
	}
	if strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// StartTracing makes the wrappers record spans and export them over
// OTLP, configured by the standard OTEL_* variables (endpoint, headers,
// OTEL_EXPORTER_OTLP_PROTOCOL grpc or http/protobuf, the default;
// OTEL_SERVICE_NAME, default soulbox; OTEL_BSP_* batching). It does
// nothing unless TracingConfigured. The returned shutdown flushes what
// is buffered.
func (m *Metrics) StartTracing(ctx context.Context) (shutdown func(context.Context) error, err error) {
	nop := func(context.Context) error { return nil }
	if m == nil || !TracingConfigured(os.Getenv) {
		return nop, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	switch proto {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nop, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: use grpc or http/protobuf", proto)
	}
	if err != nil {
		return nop, fmt.Errorf("otlp trace exporter: %w", err)
	}
	name := os.Getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "soulbox"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.version", version.Version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	m.tracer = tp.Tracer("github.com/soulbox/soulbox")
	return tp.Shutdown, nil
}

// propagator reads and writes W3C traceparent and tracestate headers.
var propagator = propagation.TraceContext{}

// span starts a span when tracing is on; end records err on it.
func (m *Metrics) span(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, func(err error)) {
	if m == nil || m.tracer == nil {
		return ctx, noEnd
	}
	ctx, sp := m.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			sp.RecordError(err)
			sp.SetStatus(codes.Error, err.Error())
		}
		sp.End()
	}
}

// noEnd ends no span.
func noEnd(error) {}

// serverSpan starts the span of an incoming request, a child of the
// caller's traceparent when it sent one.
func (m *Metrics) serverSpan(r *http.Request, name string) (context.Context, trace.Span) {
	if m.tracer == nil {
		return r.Context(), trace.SpanFromContext(r.Context())
	}
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return m.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
}

// endServerSpan records the response's status on sp and ends it.
func endServerSpan(sp trace.Span, status int, attrs ...attribute.KeyValue) {
	if !sp.IsRecording() {
		return
	}
	sp.SetAttributes(append(attrs, attribute.Int("http.response.status_code", status))...)
	if status >= 500 {
		sp.SetStatus(codes.Error, http.StatusText(status))
	}
	sp.End()
}

// sandboxAttr names the sandbox a span is about.
func sandboxAttr(id string) attribute.KeyValue { return attribute.String("sandbox.id", id) }
