package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/soulbox/soulbox/internal/builder"
)

// Builder wraps b to time every template build by outcome
// (soulbox_template_build_duration_seconds) and, when tracing, to make it
// a "template.build" span with the build's id.
func (m *Metrics) Builder(b builder.Builder) builder.Builder {
	if m == nil {
		return b
	}
	return &timedBuilder{b: b, m: m}
}

type timedBuilder struct {
	b builder.Builder
	m *Metrics
}

func (t *timedBuilder) Build(ctx context.Context, req builder.Request, log builder.Log) (res builder.Result, err error) {
	ctx, end := t.m.span(ctx, "template.build", trace.SpanKindInternal, attribute.String("template.build", req.ID))
	start := time.Now()
	res, err = t.b.Build(ctx, req, log)
	end(err)
	t.m.buildDuration.WithLabelValues(buildOutcome(err)).Observe(time.Since(start).Seconds())
	return res, err
}

// buildOutcome names how a build ended: ready, canceled (the server
// stopping, a client's cancel) or error.
func buildOutcome(err error) string {
	switch {
	case err == nil:
		return "ready"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "error"
	}
}
