package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testAPIKeys(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	a := store.APIKey{ID: "k1", Name: "admin", Prefix: "e2b_aaaa", Hash: "h1", Team: "default", Admin: true, CreatedAt: time.Unix(1000, 0).UTC()}
	b := store.APIKey{ID: "k2", Name: "ci", Prefix: "e2b_bbbb", Hash: "h2", Team: "t2", CreatedAt: time.Unix(2000, 0).UTC()}
	for _, k := range []store.APIKey{b, a} {
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "k1", Hash: "other", Team: "x"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "k3", Hash: "h1", Team: "x"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("duplicate hash: %v", err)
	}
	if err := st.CreateAPIKey(ctx, store.APIKey{ID: "k4", Team: "x"}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("no hash: %v", err)
	}
	got, err := st.APIKeyByHash(ctx, "h1")
	if err != nil || got.ID != "k1" || !got.Admin || got.Team != "default" || !got.CreatedAt.Equal(a.CreatedAt) || got.RevokedAt != nil {
		t.Errorf("by hash: %+v %v", got, err)
	}
	if _, err := st.APIKeyByHash(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("unknown hash: %v", err)
	}
	list, err := st.ListAPIKeys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "k1" || list[1].ID != "k2" {
		t.Errorf("list: %+v %v", list, err)
	}
	at := time.Unix(3000, 0).UTC()
	if err := st.RevokeAPIKey(ctx, "k2", at); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, "k2", time.Unix(4000, 0)); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("second revoke: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, "ghost", at); !errdefs.IsNotFound(err) {
		t.Errorf("revoke unknown: %v", err)
	}
	got, _ = st.APIKeyByHash(ctx, "h2")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("revoked at %v, want %v (the first revoke)", got.RevokedAt, at)
	}
}
