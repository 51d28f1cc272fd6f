package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/client"
)

// A cold create carries the pool header; the client it was made from and
// its other requests do not.
func TestWithoutPool(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Api-Key")] = r.Header.Get(PoolHeader)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sandboxID":"i1"}`))
	}))
	defer srv.Close()
	warm := &client.Client{BaseURL: srv.URL, APIKey: "warm"}
	cold := withoutPool(warm)
	cold.APIKey = "cold"
	for _, cl := range []*client.Client{warm, cold} {
		if _, err := cl.Create(context.Background(), client.CreateOptions{Template: "base"}); err != nil {
			t.Fatal(err)
		}
	}
	if seen["cold"] != "off" || seen["warm"] != "" {
		t.Errorf("%s header: cold %q, warm %q; want off and none", PoolHeader, seen["cold"], seen["warm"])
	}
	if warm.HTTP != nil {
		t.Error("withoutPool changed the client it copied")
	}
}
