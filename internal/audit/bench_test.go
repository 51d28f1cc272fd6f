package audit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// BenchmarkCreateCall is a create-shaped call (POST, 201 with a JSON
// body) through a trivial handler without the audit log (off) and with
// it (on): the difference is the durable entry each create writes, in a
// real SQLite store.
func BenchmarkCreateCall(b *testing.B) {
	created := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sandboxID":"abc","templateID":"base","clientID":"t","envdVersion":"0.6.13"}`))
	}
	k := store.APIKey{ID: "k", Prefix: "e2b_abcdef", Team: "t", Role: store.RoleDeveloper}
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			mux := http.NewServeMux()
			if on {
				st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "soulbox.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				New(st, testKey, 0, nil).Wrap(mux).HandleFunc("POST /sandboxes", created)
			} else {
				mux.HandleFunc("POST /sandboxes", created)
			}
			ctx := auth.NewContext(context.Background(), k)
			for b.Loop() {
				r := httptest.NewRequest("POST", "/sandboxes", nil).WithContext(ctx)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
