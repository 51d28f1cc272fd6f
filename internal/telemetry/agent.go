package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/soulbox/soulbox/internal/agent/timing"
)

// agentSpans records the steps the agent reported in the response's
// Server-Timing header (timing.Add: process.start, files.write) as
// "agent <step>" spans under the proxy's span of the call, at the times
// the agent took them. The agent has no tracing library: these spans are
// made here, from what it measured, not exported by it.
func (m *Metrics) agentSpans(ctx context.Context, h http.Header) {
	for _, e := range timing.Parse(h.Values(timing.Header)) {
		_, sp := m.tracer.Start(ctx, "agent "+e.Name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(e.Start))
		sp.End(trace.WithTimestamp(e.End))
	}
}
