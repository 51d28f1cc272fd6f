package authz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkRoute is the cost of routing an authenticated request to a
// trivial handler, with the role and scope check (rbac) and without it
// (plain): the difference is what authorisation adds per request.
func BenchmarkRoute(b *testing.B) {
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	k := store.APIKey{ID: "k", Prefix: "e2b_abcdef", Team: "t", Role: store.RoleDeveloper, Scopes: []string{"sandboxes:create", "sandboxes:use"}}
	for _, tc := range []struct {
		name string
		mux  func() *http.ServeMux
	}{
		{"plain", func() *http.ServeMux {
			m := http.NewServeMux()
			m.HandleFunc("DELETE /sandboxes/{id}", ok)
			return m
		}},
		{"rbac", func() *http.ServeMux {
			m := http.NewServeMux()
			Guard(m, Routes{"DELETE /sandboxes/{id}": SandboxesUse}).HandleFunc("DELETE /sandboxes/{id}", ok)
			return m
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			mux := tc.mux()
			r := httptest.NewRequest("DELETE", "/sandboxes/abc", nil).WithContext(auth.NewContext(context.Background(), k))
			w := httptest.NewRecorder()
			for b.Loop() {
				mux.ServeHTTP(w, r)
			}
			if w.Code != http.StatusNoContent {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}
