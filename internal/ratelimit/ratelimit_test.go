package ratelimit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func TestAllow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 60 calls a minute per key (a burst of 6, one a second after), 90
	// per team (burst 9); 10 creates a minute per key (burst 1).
	l := &Limiter{cfg: Config{CallsPerKey: 60, CallsPerTeam: 90, CreatesPerKey: 10}, now: func() time.Time { return now }}
	a := store.APIKey{ID: "a", Prefix: "e2b_aaaaaa", Team: "t"}
	b := store.APIKey{ID: "b", Prefix: "e2b_bbbbbb", Team: "t"}
	other := store.APIKey{ID: "c", Prefix: "e2b_cccccc", Team: "u"}

	for i := range 6 {
		if err := l.Allow(Calls, a); err != nil {
			t.Fatalf("call %d of the burst: %v", i, err)
		}
	}
	err := l.Allow(Calls, a)
	var le *LimitedError
	if !errors.As(err, &le) || !errors.Is(err, errdefs.ErrResourceExhausted) || le.RetryAfter <= 0 || le.RetryAfter > time.Second ||
		!strings.Contains(err.Error(), "API key e2b_aaaaaa… may make 60 API calls a minute") {
		t.Fatalf("7th call: %v", err)
	}
	// Creates have their own buckets.
	if err := l.Allow(Creates, a); err != nil {
		t.Errorf("a create after the calls ran out: %v", err)
	}
	if err := l.Allow(Creates, a); err == nil || !strings.Contains(err.Error(), "10 sandbox creates a minute") {
		t.Errorf("second create at once: %v", err)
	}
	// The team's bucket holds 9: a's refused 7th call took nothing from
	// it, so b gets 3 before the team runs out.
	for i := range 3 {
		if err := l.Allow(Calls, b); err != nil {
			t.Fatalf("b's call %d: %v", i, err)
		}
	}
	if err := l.Allow(Calls, b); err == nil || !strings.Contains(err.Error(), `team "t" may make 90 API calls a minute`) {
		t.Errorf("b's 4th call: %v, want the team's limit", err)
	}
	// Another team is not touched.
	if err := l.Allow(Calls, other); err != nil {
		t.Errorf("another team: %v", err)
	}
	// Time refills.
	now = now.Add(time.Second)
	if err := l.Allow(Calls, a); err != nil {
		t.Errorf("a second later: %v", err)
	}
	// The zero limiter and a nil one limit nothing.
	var zero Limiter
	var nilL *Limiter
	for range 1000 {
		if zero.Allow(Creates, a) != nil || nilL.Allow(Calls, a) != nil {
			t.Fatal("a limiter without limits refused")
		}
	}
}

// BenchmarkAllow is the cost the limiter adds to an API call.
func BenchmarkAllow(b *testing.B) {
	l := New(Config{CallsPerKey: 1 << 30, CallsPerTeam: 1 << 30})
	k := store.APIKey{ID: "a", Team: "t"}
	for b.Loop() {
		_ = l.Allow(Calls, k)
	}
}
