package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func ptr(t time.Time) *time.Time { return &t }

// apiKey returns a valid new key; hash and id derive from name.
func apiKey(name string, created time.Time) store.APIKey {
	return store.APIKey{
		ID: "key-" + name, Name: name, Prefix: "e2b_" + name, Hash: "hash-" + name,
		Team: "team-" + name, CreatedAt: created,
	}
}

func mustCreateKey(t *testing.T, st store.Store, k store.APIKey) {
	t.Helper()
	if err := st.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("create key %s: %v", k.ID, err)
	}
}

func mustKey(t *testing.T, st store.Store, hash string) store.APIKey {
	t.Helper()
	k, err := st.APIKeyByHash(context.Background(), hash)
	if err != nil {
		t.Fatalf("key by hash %s: %v", hash, err)
	}
	return k
}

func (s *suite) testAPIKeys(t *testing.T) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		st := s.open(t)
		full := apiKey("full", t0)
		full.Admin = true
		full.LastUsedAt = ptr(at(time.Second))
		minimal := store.APIKey{ID: "minimal", Hash: "h-minimal", Team: "default", CreatedAt: t0}
		for _, want := range []store.APIKey{full, minimal} {
			mustCreateKey(t, st, want)
			if diff := cmp.Diff(want, mustKey(t, st, want.Hash)); diff != "" {
				t.Errorf("key by hash after create (-want +got):\n%s", diff)
			}
		}
		// A zero CreatedAt is the store's current time.
		now := apiKey("now", time.Time{})
		before := time.Now().Add(-time.Second)
		mustCreateKey(t, st, now)
		if got := mustKey(t, st, now.Hash).CreatedAt; got.Before(before) || got.Location() != time.UTC {
			t.Errorf("created at %v, want about now in UTC", got)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		st := s.open(t)
		a := apiKey("a", t0)
		mustCreateKey(t, st, a)
		sameID := apiKey("b", t0)
		sameID.ID = a.ID
		wantErr(t, st.CreateAPIKey(ctx, sameID), errdefs.ErrAlreadyExists, "duplicate id")
		sameHash := apiKey("c", t0)
		sameHash.Hash = a.Hash
		wantErr(t, st.CreateAPIKey(ctx, sameHash), errdefs.ErrAlreadyExists, "duplicate hash")
		if diff := cmp.Diff(a, mustKey(t, st, a.Hash)); diff != "" {
			t.Errorf("a failed create changed the first key (-want +got):\n%s", diff)
		}
		if n, err := st.CountAPIKeys(ctx); err != nil || n != 1 {
			t.Errorf("count after refused duplicates = %d, %v; want 1", n, err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		st := s.open(t)
		for name, k := range map[string]store.APIKey{
			"no id":   {Hash: "h", Team: "t"},
			"no hash": {ID: "k", Team: "t"},
			"no team": {ID: "k", Hash: "h"},
			"revoked": {ID: "k", Hash: "h", Team: "t", RevokedAt: ptr(t0)},
		} {
			wantErr(t, st.CreateAPIKey(ctx, k), errdefs.ErrInvalidArgument, name)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		st := s.open(t)
		mustCreateKey(t, st, apiKey("a", t0))
		_, err := st.APIKeyByHash(ctx, "hash-nope")
		wantErr(t, err, errdefs.ErrNotFound, "key by unknown hash")
		wantErr(t, st.RevokeAPIKey(ctx, "ghost", t0), errdefs.ErrNotFound, "revoke unknown key")
		wantErr(t, st.TouchAPIKey(ctx, "ghost", t0), errdefs.ErrNotFound, "touch unknown key")
	})

	t.Run("ListOrder", func(t *testing.T) {
		st := s.open(t)
		if list, err := st.ListAPIKeys(ctx); err != nil || len(list) != 0 {
			t.Errorf("list of an empty store = %v, %v", list, err)
		}
		// Created out of order; listed by CreatedAt, then ID.
		c, a, b2, b1 := apiKey("c", at(3*time.Second)), apiKey("a", at(time.Second)),
			apiKey("b2", at(2*time.Second)), apiKey("b1", at(2*time.Second))
		for _, k := range []store.APIKey{c, a, b2, b1} {
			mustCreateKey(t, st, k)
		}
		list, err := st.ListAPIKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.APIKey{a, b1, b2, c}, list); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		st := s.open(t)
		a, b := apiKey("a", t0), apiKey("b", t0)
		mustCreateKey(t, st, a)
		mustCreateKey(t, st, b)
		revoked := at(time.Minute)
		if err := st.RevokeAPIKey(ctx, a.ID, revoked); err != nil {
			t.Fatal(err)
		}
		wantErr(t, st.RevokeAPIKey(ctx, a.ID, at(time.Hour)), errdefs.ErrFailedPrecondition, "second revoke")
		// Still found by hash (the authenticator says "revoked", not
		// "unknown"), with the first revoke's time.
		want := a
		want.RevokedAt = ptr(revoked)
		if diff := cmp.Diff(want, mustKey(t, st, a.Hash)); diff != "" {
			t.Errorf("revoked key (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(b, mustKey(t, st, b.Hash)); diff != "" {
			t.Errorf("revoking a changed b (-want +got):\n%s", diff)
		}
		if n, err := st.CountAPIKeys(ctx); err != nil || n != 2 {
			t.Errorf("count = %d, %v; want 2 (revoked keys count)", n, err)
		}
	})

	t.Run("Touch", func(t *testing.T) {
		st := s.open(t)
		a, b := apiKey("a", t0), apiKey("b", t0)
		mustCreateKey(t, st, a)
		mustCreateKey(t, st, b)
		steps := []struct {
			touch time.Time
			want  time.Time
		}{
			{at(time.Minute), at(time.Minute)},
			{at(2 * time.Minute), at(2 * time.Minute)},
			{at(time.Second), at(2 * time.Minute)}, // never backwards
			{at(2 * time.Minute), at(2 * time.Minute)},
		}
		for _, step := range steps {
			if err := st.TouchAPIKey(ctx, a.ID, step.touch); err != nil {
				t.Fatalf("touch at %v: %v", step.touch, err)
			}
			if got := mustKey(t, st, a.Hash).LastUsedAt; got == nil || !got.Equal(step.want) {
				t.Errorf("after touch at %v: last used %v, want %v", step.touch, got, step.want)
			}
		}
		if got := mustKey(t, st, b.Hash).LastUsedAt; got != nil {
			t.Errorf("touching a changed b: last used %v", got)
		}
		// A revoked key may still be touched: a request that passed
		// just before the revoke records its use after it.
		if err := st.RevokeAPIKey(ctx, b.ID, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchAPIKey(ctx, b.ID, at(time.Hour)); err != nil {
			t.Errorf("touch of a revoked key: %v", err)
		}
		list, err := st.ListAPIKeys(ctx)
		if err != nil || len(list) != 2 || list[0].LastUsedAt == nil || list[1].LastUsedAt == nil {
			t.Errorf("list does not carry last use: %+v, %v", list, err)
		}
	})

	t.Run("Count", func(t *testing.T) {
		st := s.open(t)
		for i := range 3 {
			if n, err := st.CountAPIKeys(ctx); err != nil || n != i {
				t.Errorf("count = %d, %v; want %d", n, err, i)
			}
			mustCreateKey(t, st, apiKey(id("k", i), t0))
		}
	})
}
