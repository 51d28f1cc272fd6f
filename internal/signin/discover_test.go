package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/signin"
)

// issuerStub serves a discovery document on loopback, hanging while
// hang is open and failing while fail is set; reads counts its reads.
type issuerStub struct {
	srv   *httptest.Server
	reads atomic.Int32
	fail  atomic.Bool
	hang  chan struct{}
}

func newIssuerStub(t *testing.T, hang chan struct{}) *issuerStub {
	t.Helper()
	s := &issuerStub{hang: hang}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		s.reads.Add(1)
		select {
		case <-s.hang:
		case <-r.Context().Done():
			return
		}
		if s.fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": s.srv.URL, "jwks_uri": s.srv.URL + "/keys",
			"authorization_endpoint": s.srv.URL + "/auth", "token_endpoint": s.srv.URL + "/token",
			"device_authorization_endpoint": s.srv.URL + "/device", "id_token_signing_alg_values_supported": []string{"RS256"}})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// TestDiscoveryWaitsNoLongerThanItsRequest: while the issuer hangs,
// sign-ins at the same time share one read of its discovery document,
// and each gives up when its own context ends rather than queueing
// behind the others.
func TestDiscoveryWaitsNoLongerThanItsRequest(t *testing.T) {
	release := make(chan struct{})
	is := newIssuerStub(t, release)
	defer close(release)
	v, err := signin.New(signin.Config{Issuer: is.srv.URL, ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, _, errs[i] = v.Endpoints(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("sign-in %d while the issuer hangs: %v, want its own deadline, unavailable", i, err)
		}
	}
	if n := is.reads.Load(); n != 1 {
		t.Errorf("%d reads of the discovery document for 5 sign-ins at once, want 1", n)
	}
}

// TestDiscoveryFailureBackoff: after a failed read, sign-ins fail at once
// (unavailable, no new read) until failBackoff has passed; then the
// document is read again, and once read it is kept.
func TestDiscoveryFailureBackoff(t *testing.T) {
	open := make(chan struct{})
	close(open)
	is := newIssuerStub(t, open)
	is.fail.Store(true)
	v, err := signin.New(signin.Config{Issuer: is.srv.URL, ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	signin.SetClock(v, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := context.Background()
	for i := range 3 {
		if _, _, err := v.Endpoints(ctx); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("sign-in %d with the issuer down: %v, want unavailable", i, err)
		}
	}
	if n := is.reads.Load(); n != 1 {
		t.Errorf("%d reads within the backoff, want 1", n)
	}
	is.fail.Store(false)
	advance(signin.FailBackoff - time.Second)
	if _, _, err := v.Endpoints(ctx); !errors.Is(err, errdefs.ErrUnavailable) || is.reads.Load() != 1 {
		t.Errorf("just before the backoff ends: %v, %d reads; want unavailable, 1 read", err, is.reads.Load())
	}
	advance(2 * time.Second)
	if _, token, err := v.Endpoints(ctx); err != nil || token != is.srv.URL+"/token" {
		t.Fatalf("after the backoff with the issuer up: %q, %v", token, err)
	}
	if _, _, err := v.Endpoints(ctx); err != nil || is.reads.Load() != 2 {
		t.Errorf("once read: %v, %d reads; want the document kept, 2 reads", err, is.reads.Load())
	}
}
