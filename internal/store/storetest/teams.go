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

func (s *suite) testTeams(t *testing.T) {
	ctx := context.Background()

	t.Run("BuiltIn", func(t *testing.T) {
		// A new store has the administrators' team, so that the setup
		// key has a team to belong to.
		st := s.open(t)
		tm, err := st.GetTeam(ctx, store.AdminTeam)
		if err != nil || tm.ID != store.AdminTeam {
			t.Fatalf("built-in team: %+v, %v", tm, err)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		st := s.open(t)
		a := store.Team{ID: "team-a", Name: "Alpha", CreatedAt: at(time.Second)}
		b := store.Team{ID: "team-b", Name: "Beta", CreatedAt: at(2 * time.Second)}
		for _, tm := range []store.Team{a, b} {
			if err := st.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, st.CreateTeam(ctx, a), errdefs.ErrAlreadyExists, "duplicate team")
		got, err := st.GetTeam(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("team after create (-want +got):\n%s", diff)
		}
		if err := st.RenameTeam(ctx, a.ID, "Alpha 2"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, st.RenameTeam(ctx, "nope", "x"), errdefs.ErrNotFound, "rename unknown")
		wantErr(t, st.RenameTeam(ctx, a.ID, " "), errdefs.ErrInvalidArgument, "blank name")
		list, err := st.ListTeams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tm := range list {
			if tm.ID != store.AdminTeam {
				names = append(names, tm.Name)
			}
		}
		if diff := cmp.Diff([]string{"Alpha 2", "Beta"}, names); diff != "" {
			t.Errorf("teams (-want +got):\n%s", diff)
		}

		// Deleting a team revokes its keys, not another team's.
		ka, kb := apiKey("a", t0), apiKey("b", t0)
		ka.Team, kb.Team = a.ID, b.ID
		mustCreateKey(t, st, ka)
		mustCreateKey(t, st, kb)
		for _, team := range []string{a.ID, b.ID} {
			if err := st.CreateSecret(ctx, store.Secret{ID: "sec-" + team, Team: team, Label: "L", Sealed: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.DeleteTeam(ctx, a.ID, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Its secrets go with it, not another team's.
		if list, err := st.ListSecrets(ctx, a.ID); err != nil || len(list) != 0 {
			t.Errorf("secrets of the deleted team: %+v, %v", list, err)
		}
		if list, err := st.ListSecrets(ctx, b.ID); err != nil || len(list) != 1 {
			t.Errorf("secrets of another team after the delete: %+v, %v", list, err)
		}
		if _, err := st.GetTeam(ctx, a.ID); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("deleted team: %v, want not found", err)
		}
		if k := mustKey(t, st, ka.Hash); k.RevokedAt == nil || !k.RevokedAt.Equal(at(time.Hour)) {
			t.Errorf("key of the deleted team: revoked %v, want %v", k.RevokedAt, at(time.Hour))
		}
		if k := mustKey(t, st, kb.Hash); k.RevokedAt != nil {
			t.Errorf("key of another team revoked at %v", k.RevokedAt)
		}
		wantErr(t, st.DeleteTeam(ctx, a.ID, time.Time{}), errdefs.ErrNotFound, "delete twice")
		// The deleted team's id is not made again: its keys' history
		// would become the new team's.
		wantErr(t, st.CreateTeam(ctx, store.Team{ID: a.ID, Name: "Alpha again"}), errdefs.ErrAlreadyExists, "create a deleted team's id")
		if _, err := st.GetTeam(ctx, a.ID); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("deleted team made again: %v", err)
		}
		wantErr(t, st.CreateTeam(ctx, store.Team{Name: "x"}), errdefs.ErrInvalidArgument, "no id")

		// Quotas round-trip; a negative limit is refused.
		q := store.Quota{Sandboxes: 3, CPUs: 4, MemoryMB: 2048, DiskBytes: 5 << 30, BuildMinutes: 600}
		if err := st.SetTeamQuota(ctx, b.ID, q); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetTeam(ctx, b.ID); err != nil || got.Quota != q {
			t.Errorf("quota after set: %+v, %v; want %+v", got.Quota, err, q)
		}
		wantErr(t, st.SetTeamQuota(ctx, b.ID, store.Quota{CPUs: -1}), errdefs.ErrInvalidArgument, "negative quota")
		wantErr(t, st.SetTeamQuota(ctx, b.ID, store.Quota{DiskBytes: -1}), errdefs.ErrInvalidArgument, "negative disk quota")
		wantErr(t, st.SetTeamQuota(ctx, b.ID, store.Quota{BuildMinutes: -1}), errdefs.ErrInvalidArgument, "negative build minutes")
		wantErr(t, st.SetTeamQuota(ctx, "nope", q), errdefs.ErrNotFound, "quota of an unknown team")
		if got, _ := st.GetTeam(ctx, b.ID); got.Quota != q {
			t.Errorf("a refused quota changed it to %+v", got.Quota)
		}
	})

	t.Run("TeamKeys", func(t *testing.T) {
		st := s.open(t)
		ka, kb := apiKey("a", t0), apiKey("b", at(time.Second))
		ka.Role, ka.Scopes = store.RoleViewer, []string{"sandboxes:read", "templates:read"}
		kb.Team = ka.Team
		kc := apiKey("c", t0)
		for _, k := range []store.APIKey{ka, kb, kc} {
			mustCreateKey(t, st, k)
		}
		list, err := st.ListTeamAPIKeys(ctx, ka.Team)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.APIKey{ka, kb}, list); diff != "" {
			t.Errorf("team keys (-want +got):\n%s", diff)
		}
		if err := st.RenameAPIKey(ctx, ka.Team, ka.ID, "renamed"); err != nil {
			t.Fatal(err)
		}
		if got := mustKey(t, st, ka.Hash).Name; got != "renamed" {
			t.Errorf("name after rename %q", got)
		}
		// Another team's key is not found, and keeps its name.
		wantErr(t, st.RenameAPIKey(ctx, ka.Team, kc.ID, "stolen"), errdefs.ErrNotFound, "rename another team's key")
		if got := mustKey(t, st, kc.Hash).Name; got != kc.Name {
			t.Errorf("another team's key renamed to %q", got)
		}
		bad := apiKey("bad", t0)
		bad.Role = "superuser"
		wantErr(t, st.CreateAPIKey(ctx, bad), errdefs.ErrInvalidArgument, "unknown role")
	})

	t.Run("ListByTeam", func(t *testing.T) {
		st := s.open(t)
		for i, team := range []string{"x", "y", "x"} {
			sb := sandbox(id("sb", i))
			sb.ClientID, sb.CreatedAt = team, at(time.Duration(i)*time.Second)
			mustCreate(t, st, sb)
		}
		list, err := st.ListSandboxes(ctx, store.SandboxFilter{Team: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"sb-000", "sb-002"}, ids(list)); diff != "" {
			t.Errorf("team x's sandboxes (-want +got):\n%s", diff)
		}
	})
}
