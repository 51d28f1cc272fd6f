package telemetry

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/soulbox/soulbox/internal/store"
)

// Store wraps s to time every operation and count sandbox ends by
// reason. Methods the wrapper does not know yet pass through untimed.
func (m *Metrics) Store(s store.Store) store.Store {
	if m == nil {
		return s
	}
	return &timedStore{Store: s, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

var _ store.Store = (*timedStore)(nil)

func (s *timedStore) observe(op string, start time.Time, err error) {
	s.m.storeDuration.WithLabelValues(op, result(err)).Observe(time.Since(start).Seconds())
}

func (s *timedStore) CreateSandbox(ctx context.Context, sb store.Sandbox) error {
	return s.create(ctx, sb, func(ctx context.Context) error { return s.Store.CreateSandbox(ctx, sb) })
}

// CreateSandboxIf is timed as CreateSandbox; a refusal by admit (a
// quota) counts as an error of the store's.
func (s *timedStore) CreateSandboxIf(ctx context.Context, sb store.Sandbox, admit func(store.TeamLoad) error) error {
	return s.create(ctx, sb, func(ctx context.Context) error { return s.Store.CreateSandboxIf(ctx, sb, admit) })
}

func (s *timedStore) create(ctx context.Context, sb store.Sandbox, create func(context.Context) error) (err error) {
	// The request's span is the create's: it gets the sandbox's id.
	request := trace.SpanFromContext(ctx)
	ctx, end := s.m.span(ctx, "store.create_sandbox", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("create_sandbox", t, err) }(time.Now())
	err = create(ctx)
	if err == nil {
		// A sandbox recorded as running at once came from the warm pool.
		warm := sb.State == store.StateRunning
		noteCreate(ctx, sb.TemplateID, warm)
		if request.IsRecording() {
			request.SetAttributes(sandboxAttr(sb.ID),
				attribute.String("sandbox.template", sb.TemplateID), attribute.Bool("sandbox.warm", warm))
			trace.SpanFromContext(ctx).SetAttributes(sandboxAttr(sb.ID))
		}
	}
	return err
}

func (s *timedStore) GetSandbox(ctx context.Context, id string) (_ store.Sandbox, err error) {
	ctx, end := s.m.span(ctx, "store.get_sandbox", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("get_sandbox", t, err) }(time.Now())
	return s.Store.GetSandbox(ctx, id)
}

func (s *timedStore) ListSandboxes(ctx context.Context, f store.SandboxFilter) (_ []store.Sandbox, err error) {
	ctx, end := s.m.span(ctx, "store.list_sandboxes", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("list_sandboxes", t, err) }(time.Now())
	return s.Store.ListSandboxes(ctx, f)
}

func (s *timedStore) SetState(ctx context.Context, id string, from []store.SandboxState, to store.SandboxState, ev store.Event) (err error) {
	ctx, end := s.m.span(ctx, "store.set_state", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("set_state", t, err) }(time.Now())
	return s.Store.SetState(ctx, id, from, to, ev)
}

func (s *timedStore) EndSandbox(ctx context.Context, id string, reason store.EndReason, message string, at time.Time) (err error) {
	ctx, end := s.m.span(ctx, "store.end_sandbox", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("end_sandbox", t, err) }(time.Now())
	if err = s.Store.EndSandbox(ctx, id, reason, message, at); err == nil {
		s.m.ends.WithLabelValues(string(reason)).Inc()
	}
	return err
}

func (s *timedStore) SetEndAt(ctx context.Context, id string, at time.Time) (err error) {
	ctx, end := s.m.span(ctx, "store.set_end_at", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("set_end_at", t, err) }(time.Now())
	return s.Store.SetEndAt(ctx, id, at)
}

func (s *timedStore) SetNetwork(ctx context.Context, id string, n store.NetworkConfig) (err error) {
	ctx, end := s.m.span(ctx, "store.set_network", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("set_network", t, err) }(time.Now())
	return s.Store.SetNetwork(ctx, id, n)
}

func (s *timedStore) ListEvents(ctx context.Context, sandboxID string) (_ []store.Event, err error) {
	ctx, end := s.m.span(ctx, "store.list_events", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("list_events", t, err) }(time.Now())
	return s.Store.ListEvents(ctx, sandboxID)
}

func (s *timedStore) APIKeyByHash(ctx context.Context, hash string) (_ store.APIKey, err error) {
	ctx, end := s.m.span(ctx, "store.api_key_by_hash", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("api_key_by_hash", t, err) }(time.Now())
	return s.Store.APIKeyByHash(ctx, hash)
}

func (s *timedStore) TouchAPIKey(ctx context.Context, id string, at time.Time) (err error) {
	ctx, end := s.m.span(ctx, "store.touch_api_key", trace.SpanKindInternal)
	defer func(t time.Time) { end(err); s.observe("touch_api_key", t, err) }(time.Now())
	return s.Store.TouchAPIKey(ctx, id, at)
}

// createKey keys the request's createObservation in its context.
type createKey struct{}

// createObservation is filled by the store wrapper when a request records
// a new sandbox, so that HTTP can time the create by template and start.
type createObservation struct {
	mu       sync.Mutex
	set      bool
	template string
	warm     bool
}

func (o *createObservation) get() (template string, warm, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.template, o.warm, o.set
}

func noteCreate(ctx context.Context, template string, warm bool) {
	o, ok := ctx.Value(createKey{}).(*createObservation)
	if !ok {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.set, o.template, o.warm = true, template, warm
}
