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

func (s *suite) testSecrets(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := store.Secret{ID: "sec_a", Team: "team-a", Label: "OPENAI", Description: "the key", Allowlist: []string{"api.openai.com"},
		Sealed: []byte{0, 1, 2, 0xff}, CreatedAt: now, UpdatedAt: now}
	b := store.Secret{ID: "sec_b", Team: "team-a", Label: "GITHUB", Sealed: []byte("x"), CreatedAt: now.Add(time.Second), UpdatedAt: now.Add(time.Second)}
	for _, sec := range []store.Secret{a, b} {
		if err := st.CreateSecret(ctx, sec); err != nil {
			t.Fatalf("create %s: %v", sec.ID, err)
		}
	}
	// The same label in another team is another secret.
	other := store.Secret{ID: "sec_c", Team: "team-b", Label: "OPENAI", Sealed: []byte("y"), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateSecret(ctx, other); err != nil {
		t.Fatalf("create in another team: %v", err)
	}
	dupLabel := store.Secret{ID: "sec_d", Team: "team-a", Label: "OPENAI", Sealed: []byte("z")}
	for _, dup := range []store.Secret{a, dupLabel} {
		if err := st.CreateSecret(ctx, dup); !errors.Is(err, errdefs.ErrAlreadyExists) {
			t.Errorf("create duplicate %s = %v, want ErrAlreadyExists", dup.ID, err)
		}
	}
	for _, bad := range []store.Secret{
		{Team: "team-a", Label: "x", Sealed: []byte("v")},
		{ID: "sec_e", Label: "x", Sealed: []byte("v")},
		{ID: "sec_e", Team: "team-a", Sealed: []byte("v")},
		{ID: "sec_e", Team: "team-a", Label: "x"},
		{ID: "sec_e", Team: "team-a", Label: "x\x00", Sealed: []byte("v")},
	} {
		if err := st.CreateSecret(ctx, bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("create %+v = %v, want ErrInvalidArgument", bad, err)
		}
	}

	got, err := st.GetSecret(ctx, "team-a", "sec_a")
	if err != nil || !cmp.Equal(got, a) {
		t.Errorf("get = %+v, %v; want %+v", got, err, a)
	}
	if _, err := st.GetSecret(ctx, "team-b", "sec_a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get another team's secret = %v, want ErrNotFound", err)
	}
	list, err := st.ListSecrets(ctx, "team-a")
	if err != nil || len(list) != 2 || list[0].ID != "sec_a" || list[1].ID != "sec_b" || list[1].Allowlist != nil {
		t.Errorf("list = %+v, %v; want sec_a, sec_b", list, err)
	}
	if list, err := st.ListSecrets(ctx, "team-none"); err != nil || len(list) != 0 {
		t.Errorf("list of a team without secrets = %+v, %v", list, err)
	}

	// Update without a value keeps the sealed value; with one replaces it.
	upd := store.Secret{ID: "sec_a", Team: "team-a", Label: "OPENAI_2", Description: "", UpdatedAt: now.Add(time.Hour)}
	if err := st.UpdateSecret(ctx, upd); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, _ = st.GetSecret(ctx, "team-a", "sec_a")
	if got.Label != "OPENAI_2" || got.Description != "" || got.Allowlist != nil || string(got.Sealed) != string(a.Sealed) ||
		!got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now.Add(time.Hour)) {
		t.Errorf("after update: %+v", got)
	}
	upd.Sealed = []byte("new")
	if err := st.UpdateSecret(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.GetSecret(ctx, "team-a", "sec_a"); string(got.Sealed) != "new" {
		t.Errorf("value not replaced: %q", got.Sealed)
	}
	if err := st.UpdateSecret(ctx, store.Secret{ID: "sec_a", Team: "team-a", Label: "GITHUB"}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("update to a used label = %v, want ErrAlreadyExists", err)
	}
	if err := st.UpdateSecret(ctx, store.Secret{ID: "sec_a", Team: "team-b", Label: "stolen"}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("update by another team = %v, want ErrNotFound", err)
	}
	if got, _ = st.GetSecret(ctx, "team-a", "sec_a"); got.Label != "OPENAI_2" {
		t.Errorf("refused updates changed it: %+v", got)
	}

	if err := st.DeleteSecret(ctx, "team-b", "sec_a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("delete by another team = %v, want ErrNotFound", err)
	}
	if err := st.DeleteSecret(ctx, "team-a", "sec_a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSecret(ctx, "team-a", "sec_a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("get deleted = %v", err)
	}
	if err := st.DeleteSecret(ctx, "team-a", "sec_a"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("delete twice = %v, want ErrNotFound", err)
	}
	// Its label is free again.
	if err := st.CreateSecret(ctx, store.Secret{ID: "sec_f", Team: "team-a", Label: "OPENAI_2", Sealed: []byte("v")}); err != nil {
		t.Errorf("reuse a deleted secret's label: %v", err)
	}
}
