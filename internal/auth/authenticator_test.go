package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// countingStore counts the touches that reach the store, and fails them
// when told to.
type countingStore struct {
	store.APIKeys
	touches atomic.Int32
	fail    error
}

func (c *countingStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	c.touches.Add(1)
	if c.fail != nil {
		return c.fail
	}
	return c.APIKeys.TouchAPIKey(ctx, id, at)
}

// failingStore cannot look anything up.
type failingStore struct{ store.APIKeys }

func (failingStore) APIKeyByHash(context.Context, string) (store.APIKey, error) {
	return store.APIKey{}, errors.New("disk on fire")
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	valid, rec, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	revoked, revRec, err := Create(ctx, st, "old", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, revRec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	unknown, _, _ := Generate()
	a := &Authenticator{Store: st}

	k, err := a.Authenticate(ctx, valid)
	if err != nil || k.ID != rec.ID || k.Team != "team1" {
		t.Errorf("valid key: %+v, %v", k, err)
	}
	for _, tc := range []struct {
		name, key, msg string
	}{
		{"empty", "", "missing API key"},
		{"malformed", "e2b_xyz", "malformed API key"},
		{"upper case", strings.ToUpper(valid), "malformed API key"},
		{"unknown", unknown, "unknown API key"},
		{"revoked", revoked, "API key " + revRec.Prefix + "… was revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := a.Authenticate(ctx, tc.key)
			if !errors.Is(err, errdefs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want unauthenticated saying %q", err, tc.msg)
			}
			if k.ID != "" || k.Hash != "" {
				t.Errorf("a refused key came back with its record %+v", k)
			}
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Errorf("the message %q repeats the key", err)
			}
		})
	}
	// The store's failure is not the client's: not ErrUnauthenticated.
	_, err = (&Authenticator{Store: failingStore{st}}).Authenticate(ctx, valid)
	if err == nil || errors.Is(err, errdefs.ErrUnauthenticated) {
		t.Errorf("store failure: %v, want an error that is not unauthenticated", err)
	}
}

func TestLastUsedThrottle(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{APIKeys: openStore(t)}
	key, rec, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := &Authenticator{Store: st, now: clock}

	lastUsed := func() *time.Time {
		t.Helper()
		k, err := st.APIKeyByHash(ctx, rec.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return k.LastUsedAt
	}
	steps := []struct {
		after       time.Duration // since the start
		wantTouches int32
		wantLast    time.Duration
	}{
		{0, 1, 0}, // first use: recorded
		{time.Second, 1, 0},
		{59 * time.Second, 1, 0},
		{time.Minute, 2, time.Minute}, // a minute on: recorded again
		{90 * time.Second, 2, time.Minute},
	}
	start := now
	for _, step := range steps {
		now = start.Add(step.after)
		if _, err := a.Authenticate(ctx, key); err != nil {
			t.Fatal(err)
		}
		if got := st.touches.Load(); got != step.wantTouches {
			t.Errorf("at +%v: %d touches, want %d", step.after, got, step.wantTouches)
		}
		if got := lastUsed(); got == nil || !got.Equal(start.Add(step.wantLast)) {
			t.Errorf("at +%v: last used %v, want %v", step.after, got, start.Add(step.wantLast))
		}
	}

	// A new process (a restart) reads the recorded use and does not
	// write it again within the minute.
	now = start.Add(100 * time.Second)
	restarted := &Authenticator{Store: st, now: clock}
	if _, err := restarted.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := st.touches.Load(); got != 2 {
		t.Errorf("after a restart: %d touches, want 2", got)
	}

	// Many requests at once write once.
	now = start.Add(time.Hour)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := a.Authenticate(ctx, key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := st.touches.Load(); got != 3 {
		t.Errorf("after 50 concurrent requests: %d touches, want 3", got)
	}
}

func TestTouchFailureDoesNotFail(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{APIKeys: openStore(t), fail: errors.New("disk full")}
	key, _, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := &Authenticator{Store: st, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		if _, err := a.Authenticate(ctx, key); err != nil {
			t.Errorf("a failed touch failed the request: %v", err)
		}
	}
	if st.touches.Load() != 1 || !strings.Contains(logs.String(), "disk full") {
		t.Errorf("%d touches, log %q; want one, logged", st.touches.Load(), logs.String())
	}
}
