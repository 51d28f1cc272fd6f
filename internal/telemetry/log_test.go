package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/soulbox/soulbox/internal/telemetry"
)

// TestLogsCarryTraceIDs: a record logged inside a span carries its trace
// and span ids, also through With and WithGroup loggers; one logged
// outside a span, or without a context, carries none.
func TestLogsCarryTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil)))
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	sc := span.SpanContext()

	log.InfoContext(ctx, "inside")
	log.With("sandbox.id", "sb1").WarnContext(ctx, "inside, with")
	log.WithGroup("g").ErrorContext(ctx, "inside, grouped")
	log.InfoContext(context.Background(), "outside")
	log.Info("no context")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if g, ok := rec["g"].(map[string]any); ok {
			rec = g
		}
		tid, sid := rec["trace_id"], rec["span_id"]
		if i < 3 && (tid != sc.TraceID().String() || sid != sc.SpanID().String()) {
			t.Errorf("line %d inside the span: trace_id %v span_id %v, want %s %s", i, tid, sid, sc.TraceID(), sc.SpanID())
		}
		if i >= 3 && (tid != nil || sid != nil) {
			t.Errorf("line %d outside any span has trace ids: %s", i, l)
		}
	}
	if h := telemetry.LogHandler(slog.NewJSONHandler(&buf, nil)); telemetry.LogHandler(h) != h {
		t.Errorf("wrapping twice adds the ids twice")
	}
}
