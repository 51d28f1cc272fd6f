package telemetry

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/soulbox/soulbox/internal/agent/timing"
)

// agentSpans records the steps the agent reported in the response's
// Server-Timing header (timing.Add: process.start, files.write) as
// "agent <step>" spans under the proxy's span of the call, at the times
// the agent took them. The agent has no tracing library: these spans are
// made here, from what it measured, not exported by it.
//
// What a sandbox sends is not trusted: only the agent's responses are
// read (never a user server's on another port), only its step names and
// at most timing.MaxEntries entries, and each step is clamped inside the
// proxy's span, from to to, so a forged time cannot place it elsewhere.
func (m *Metrics) agentSpans(ctx context.Context, h http.Header, from, to time.Time) {
	for _, e := range timing.Parse(h.Values(timing.Header)) {
		start, end := clamp(e.Start, from, to), clamp(e.End, from, to)
		if end.Before(start) {
			end = start
		}
		_, sp := m.tracer.Start(ctx, "agent "+e.Name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(start))
		sp.End(trace.WithTimestamp(end))
	}
}

// clamp is t moved inside [from, to].
func clamp(t, from, to time.Time) time.Time {
	if t.Before(from) {
		return from
	}
	if t.After(to) {
		return to
	}
	return t
}
