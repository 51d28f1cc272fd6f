package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/keycache"
	"github.com/soulbox/soulbox/internal/store/postgres"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// BenchmarkAuthenticatedRoute is what authenticating and authorising one
// request costs: the key looked up by its hash in the store, its use
// recorded (at most once a minute), the role and scope check, and a
// trivial handler; with every lookup read from the store (store) and
// with lookups cached for keycache.DefaultTTL (cached), on SQLite and on
// PostgreSQL (over its Unix socket). p50-ns is the median request.
func BenchmarkAuthenticatedRoute(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "soulbox.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) store.Store {
			s, err := postgres.Open(context.Background(), pgtest.Start(b).NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			ctx := context.Background()
			if err := db.CreateTeam(ctx, store.Team{ID: "t", Name: "t"}); err != nil {
				b.Fatal(err)
			}
			key, _, err := auth.Issue(ctx, db, store.APIKey{Name: "bench", Team: "t", Role: store.RoleDeveloper, Scopes: []string{"sandboxes:use"}})
			if err != nil {
				b.Fatal(err)
			}
			for _, mode := range []string{"store", "cached"} {
				b.Run(mode, func(b *testing.B) {
					st := db
					if mode == "cached" {
						st = keycache.Wrap(db, 0)
					}
					a := &auth.Authenticator{Store: st, Teams: st}
					mux := http.NewServeMux()
					Guard(mux, Routes{"DELETE /sandboxes/{id}": SandboxesUse}).HandleFunc("DELETE /sandboxes/{id}", ok)
					h := a.Middleware(mux)
					r := httptest.NewRequest("DELETE", "/sandboxes/abc", nil)
					r.Header.Set("X-API-Key", key)
					w := httptest.NewRecorder()
					took := make([]time.Duration, 0, 1<<16)
					b.ReportAllocs()
					for b.Loop() {
						start := time.Now()
						h.ServeHTTP(w, r)
						if len(took) < cap(took) {
							took = append(took, time.Since(start))
						}
					}
					if w.Code != http.StatusNoContent {
						b.Fatalf("status %d", w.Code)
					}
					slices.Sort(took)
					b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
					b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
				})
			}
		})
	}
}
