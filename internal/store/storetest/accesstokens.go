package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testAccessTokens(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := store.AccessToken{ID: "tok_a", Team: "team-a", KeyID: "key-a", Name: "cli", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateAccessToken(ctx, tok); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := st.CreateAccessToken(ctx, tok); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("duplicate create = %v, want ErrAlreadyExists", err)
	}
	for _, bad := range []store.AccessToken{
		{Team: "team-a", KeyID: "key-a", ExpiresAt: now},
		{ID: "tok_b", KeyID: "key-a", ExpiresAt: now},
		{ID: "tok_b", Team: "team-a", KeyID: "key-a"},
		{ID: "tok_b", Team: "team-a", KeyID: "key-a", ExpiresAt: now, RevokedAt: &now},
		{ID: "tok_\x00", Team: "team-a", KeyID: "key-a", ExpiresAt: now},
	} {
		if err := st.CreateAccessToken(ctx, bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("create %+v = %v, want ErrInvalidArgument", bad, err)
		}
	}
	got, err := st.GetAccessToken(ctx, "tok_a")
	if err != nil || !cmp.Equal(got, tok) {
		t.Errorf("get = %+v, %v; want %+v", got, err, tok)
	}
	if _, err := st.GetAccessToken(ctx, "tok_nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get unknown = %v, want ErrNotFound", err)
	}

	// Another team's token is not found, and stays unrevoked.
	if err := st.RevokeAccessToken(ctx, "team-b", "tok_a", now); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("revoke by another team = %v, want ErrNotFound", err)
	}
	if got, _ := st.GetAccessToken(ctx, "tok_a"); got.RevokedAt != nil {
		t.Errorf("another team's revocation revoked it: %+v", got)
	}
	at := now.Add(time.Minute)
	if err := st.RevokeAccessToken(ctx, "team-a", "tok_a", at); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if got, _ := st.GetAccessToken(ctx, "tok_a"); got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("after revoke: %+v, want revoked at %v", got, at)
	}
	if err := st.RevokeAccessToken(ctx, "team-a", "tok_a", at.Add(time.Minute)); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("second revoke = %v, want ErrFailedPrecondition", err)
	}
	if got, _ := st.GetAccessToken(ctx, "tok_a"); got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("second revoke changed it: %+v", got)
	}

	// Pruning sweeps only records of expired tokens, revoked or not.
	later := store.AccessToken{ID: "tok_later", Team: "team-a", KeyID: "key-a", CreatedAt: now, ExpiresAt: now.Add(3 * time.Hour)}
	if err := st.CreateAccessToken(ctx, later); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneAccessTokens(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("prune = %d, %v; want 1", n, err)
	}
	if _, err := st.GetAccessToken(ctx, "tok_a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("expired token's record kept after prune: %v", err)
	}
	if _, err := st.GetAccessToken(ctx, "tok_later"); err != nil {
		t.Errorf("live token's record pruned: %v", err)
	}

	t.Run("ConcurrentRevoke", func(t *testing.T) {
		// Revoked by many at once: one succeeds, every other is told it
		// was revoked already, and the first revocation's time stays.
		st := s.open(t)
		for round := range 5 {
			id := "tok_race_" + string(rune('a'+round))
			if err := st.CreateAccessToken(ctx, store.AccessToken{ID: id, Team: "team-a", KeyID: "key-a", ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			const n = 8
			errs := make(chan error, n)
			for i := range n {
				go func() { errs <- st.RevokeAccessToken(ctx, "team-a", id, now.Add(time.Duration(i+1)*time.Second)) }()
			}
			var ok, already int
			for range n {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, errdefs.ErrFailedPrecondition):
					already++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if ok != 1 || already != n-1 {
				t.Fatalf("round %d: %d revocations succeeded, %d refused; want 1 and %d", round, ok, already, n-1)
			}
		}
	})
}
