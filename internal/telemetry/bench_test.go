package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// nopStore answers every call at once, so that a benchmark of the
// wrapper measures the wrapper.
type nopStore struct{ store.Store }

func (nopStore) ListSandboxes(context.Context, store.SandboxFilter) ([]store.Sandbox, error) {
	return nil, nil
}

func (nopStore) CreateSandbox(context.Context, store.Sandbox) error { return nil }

// nopDriver likewise.
type nopDriver struct{ telemetry.Driver }

func (nopDriver) Update(context.Context, string, runtime.Limits) error { return nil }

// BenchmarkInstrumentation measures what the metrics add to each piece
// of a request, without the work they wrap: the cost per warm create is
// about one HTTP request, six store operations, one claim and one or two
// driver calls.
func BenchmarkInstrumentation(b *testing.B) {
	m := telemetry.New()
	b.Run("http", func(b *testing.B) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /sandboxes", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
		route := func(r *http.Request) string { _, p := mux.Handler(r); return telemetry.PatternPath(p) }
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"off", mux}, {"on", m.HTTP(route, mux)}} {
			b.Run(h.name, func(b *testing.B) {
				req := httptest.NewRequest("POST", "/sandboxes", nil)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					h.h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		}
	})
	b.Run("store", func(b *testing.B) {
		for _, s := range []struct {
			name string
			s    store.Store
		}{{"off", nopStore{}}, {"on", m.Store(nopStore{})}} {
			b.Run(s.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_, _ = s.s.ListSandboxes(ctx, store.SandboxFilter{})
				}
			})
		}
	})
	b.Run("driver", func(b *testing.B) {
		for _, d := range []struct {
			name string
			d    telemetry.Driver
		}{{"off", nopDriver{}}, {"on", m.Driver(nopDriver{})}} {
			b.Run(d.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_ = d.d.Update(ctx, "x", runtime.Limits{})
				}
			})
		}
	})
}
