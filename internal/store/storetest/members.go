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

func (s *suite) testMembers(t *testing.T) {
	ctx := context.Background()

	t.Run("Users", func(t *testing.T) {
		st := s.open(t)
		u := store.User{ID: "6f1d1c9e-0000-4000-8000-000000000001", Email: "ada@example.com", CreatedAt: at(time.Second)}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		wantErr(t, st.CreateUser(ctx, store.User{ID: "other", Email: u.Email}), errdefs.ErrAlreadyExists, "duplicate email")
		wantErr(t, st.CreateUser(ctx, store.User{ID: u.ID, Email: "b@example.com"}), errdefs.ErrAlreadyExists, "duplicate id")
		for _, bad := range []store.User{{ID: "", Email: "x@example.com"}, {ID: "x", Email: "no-at"}, {ID: "x", Email: "Ada@Example.com"}, {ID: "x", Email: "a@b@c"}} {
			wantErr(t, st.CreateUser(ctx, bad), errdefs.ErrInvalidArgument, "bad user "+bad.Email)
		}
		got, err := st.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
		// Addresses are compared as normalised: case and spaces aside.
		if got, err := st.UserByEmail(ctx, " ADA@example.com"); err != nil || got.ID != u.ID {
			t.Errorf("by email: %+v, %v", got, err)
		}
		_, err = st.UserByEmail(ctx, "nobody@example.com")
		wantErr(t, err, errdefs.ErrNotFound, "unknown email")
		_, err = st.GetUser(ctx, "nope")
		wantErr(t, err, errdefs.ErrNotFound, "unknown user")
	})

	t.Run("Memberships", func(t *testing.T) {
		st := s.open(t)
		for _, tm := range []store.Team{{ID: "team-a", Name: "A"}, {ID: "team-b", Name: "B"}} {
			if err := st.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		ada := store.User{ID: "u-ada", Email: "ada@example.com"}
		bob := store.User{ID: "u-bob", Email: "bob@example.com"}
		for _, u := range []store.User{ada, bob} {
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		add := func(team, user string, role store.Role, d time.Duration) {
			t.Helper()
			if err := st.AddMember(ctx, store.Member{Team: team, UserID: user, Role: role, AddedAt: at(d)}); err != nil {
				t.Fatal(err)
			}
		}
		add("team-a", ada.ID, store.RoleOwner, time.Second)
		add("team-a", bob.ID, store.RoleViewer, 2*time.Second)
		add("team-b", ada.ID, store.RoleDeveloper, 3*time.Second)
		wantErr(t, st.AddMember(ctx, store.Member{Team: "team-a", UserID: bob.ID, Role: store.RoleAdmin}), errdefs.ErrAlreadyExists, "member twice")
		wantErr(t, st.AddMember(ctx, store.Member{Team: "nope", UserID: bob.ID, Role: store.RoleAdmin}), errdefs.ErrNotFound, "unknown team")
		wantErr(t, st.AddMember(ctx, store.Member{Team: "team-a", UserID: "nope", Role: store.RoleAdmin}), errdefs.ErrNotFound, "unknown user")
		wantErr(t, st.AddMember(ctx, store.Member{Team: "team-b", UserID: bob.ID, Role: "root"}), errdefs.ErrInvalidArgument, "unknown role")

		want := []store.Member{
			{Team: "team-a", UserID: ada.ID, Email: ada.Email, Role: store.RoleOwner, AddedAt: at(time.Second)},
			{Team: "team-a", UserID: bob.ID, Email: bob.Email, Role: store.RoleViewer, AddedAt: at(2 * time.Second)},
		}
		got, err := st.ListMembers(ctx, "team-a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("members of team-a (-want +got):\n%s", diff)
		}
		mine, err := st.ListUserTeams(ctx, ada.ID)
		if err != nil || len(mine) != 2 || mine[0].Team != "team-a" || mine[1].Team != "team-b" || mine[1].Role != store.RoleDeveloper {
			t.Errorf("ada's teams: %+v, %v", mine, err)
		}
		if m, err := st.GetMember(ctx, "team-b", ada.ID); err != nil || m.Role != store.RoleDeveloper || m.Email != ada.Email {
			t.Errorf("ada in team-b: %+v, %v", m, err)
		}
		_, err = st.GetMember(ctx, "team-b", bob.ID)
		wantErr(t, err, errdefs.ErrNotFound, "bob in team-b")

		// The last owner can be neither demoted nor removed, and the
		// refusal changes nothing.
		wantErr(t, st.SetMemberRole(ctx, "team-a", ada.ID, "", store.RoleAdmin), errdefs.ErrFailedPrecondition, "demote last owner")
		wantErr(t, st.RemoveMember(ctx, "team-a", ada.ID, ""), errdefs.ErrFailedPrecondition, "remove last owner")
		if m, _ := st.GetMember(ctx, "team-a", ada.ID); m.Role != store.RoleOwner {
			t.Errorf("after refused changes ada is %q, want owner", m.Role)
		}
		wantErr(t, st.SetMemberRole(ctx, "team-a", "nope", "", store.RoleAdmin), errdefs.ErrNotFound, "role of a non-member")
		wantErr(t, st.RemoveMember(ctx, "team-b", bob.ID, ""), errdefs.ErrNotFound, "remove a non-member")
		wantErr(t, st.SetMemberRole(ctx, "team-a", bob.ID, "", "root"), errdefs.ErrInvalidArgument, "unknown role")

		// With a second owner, the first may go.
		if err := st.SetMemberRole(ctx, "team-a", bob.ID, "", store.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if err := st.SetMemberRole(ctx, "team-a", ada.ID, "", store.RoleViewer); err != nil {
			t.Fatalf("demote one of two owners: %v", err)
		}
		if err := st.RemoveMember(ctx, "team-a", ada.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = st.GetMember(ctx, "team-a", ada.ID)
		wantErr(t, err, errdefs.ErrNotFound, "removed member")

		// Deleting a team ends its memberships; the users stay.
		if err := st.DeleteTeam(ctx, "team-b", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if mine, err := st.ListUserTeams(ctx, ada.ID); err != nil || len(mine) != 0 {
			t.Errorf("ada's teams after team-b deleted: %+v, %v", mine, err)
		}
		if _, err := st.GetUser(ctx, ada.ID); err != nil {
			t.Errorf("user after their team was deleted: %v", err)
		}
	})

	t.Run("ExpectedRole", func(t *testing.T) {
		// A change made against a role read earlier is refused, changing
		// nothing, once the role is another: the caller's rank check was
		// for the role it read.
		st := s.open(t)
		if err := st.CreateTeam(ctx, store.Team{ID: "team-a", Name: "a"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []store.User{{ID: "u-ada", Email: "ada@example.com"}, {ID: "u-bob", Email: "bob@example.com"}} {
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []store.Member{{Team: "team-a", UserID: "u-ada", Role: store.RoleOwner}, {Team: "team-a", UserID: "u-bob", Role: store.RoleDeveloper}} {
			if err := st.AddMember(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, st.SetMemberRole(ctx, "team-a", "u-bob", store.RoleAdmin, store.RoleViewer), errdefs.ErrFailedPrecondition, "role changed meanwhile")
		wantErr(t, st.RemoveMember(ctx, "team-a", "u-bob", store.RoleViewer), errdefs.ErrFailedPrecondition, "removal after the role changed")
		if m, err := st.GetMember(ctx, "team-a", "u-bob"); err != nil || m.Role != store.RoleDeveloper {
			t.Fatalf("bob after refused changes: %+v, %v; want developer still", m, err)
		}
		if err := st.SetMemberRole(ctx, "team-a", "u-bob", store.RoleDeveloper, store.RoleAdmin); err != nil {
			t.Fatalf("change from the role read: %v", err)
		}
		// Promoted and removed at once, each against the role read
		// before: never both.
		for round := range 10 {
			if err := st.SetMemberRole(ctx, "team-a", "u-bob", "", store.RoleDeveloper); err != nil {
				if !errors.Is(err, errdefs.ErrNotFound) {
					t.Fatal(err)
				}
				if err := st.AddMember(ctx, store.Member{Team: "team-a", UserID: "u-bob", Role: store.RoleDeveloper}); err != nil {
					t.Fatal(err)
				}
			}
			promoted, removed := make(chan error, 1), make(chan error, 1)
			go func() { promoted <- st.SetMemberRole(ctx, "team-a", "u-bob", store.RoleDeveloper, store.RoleOwner) }()
			go func() { removed <- st.RemoveMember(ctx, "team-a", "u-bob", store.RoleDeveloper) }()
			p, r := <-promoted, <-removed
			if p == nil && r == nil {
				t.Fatalf("round %d: promoted to owner and removed as a developer, both", round)
			}
			if (p != nil && !errors.Is(p, errdefs.ErrNotFound)) || (r != nil && !errors.Is(r, errdefs.ErrFailedPrecondition)) {
				t.Fatalf("round %d: promote %v, remove %v", round, p, r)
			}
		}
		wantErr(t, st.RemoveMember(ctx, "nobody-team", "u-bob", store.RoleDeveloper), errdefs.ErrNotFound, "unknown team")
	})

	t.Run("BindSubject", func(t *testing.T) {
		// The first subject bound stays: the same again is fine, another
		// is refused and changes nothing.
		st := s.open(t)
		if err := st.CreateUser(ctx, store.User{ID: "u-ada", Email: "ada@example.com", Subject: "ignored"}); err != nil {
			t.Fatal(err)
		}
		if u, err := st.GetUser(ctx, "u-ada"); err != nil || u.Subject != "" {
			t.Fatalf("a new user's subject: %+v, %v; want none", u, err)
		}
		if err := st.BindUserSubject(ctx, "u-ada", "sub-1"); err != nil {
			t.Fatal(err)
		}
		if err := st.BindUserSubject(ctx, "u-ada", "sub-1"); err != nil {
			t.Errorf("binding the same subject again: %v", err)
		}
		wantErr(t, st.BindUserSubject(ctx, "u-ada", "sub-2"), errdefs.ErrFailedPrecondition, "another subject")
		wantErr(t, st.BindUserSubject(ctx, "nobody", "sub-1"), errdefs.ErrNotFound, "unknown user")
		wantErr(t, st.BindUserSubject(ctx, "u-ada", ""), errdefs.ErrInvalidArgument, "empty subject")
		if u, err := st.UserByEmail(ctx, "ada@example.com"); err != nil || u.Subject != "sub-1" {
			t.Errorf("user after the refused binding: %+v, %v; want subject sub-1", u, err)
		}
	})

	t.Run("RemoveRevokesTokens", func(t *testing.T) {
		// Ending a membership revokes the member's open token records of
		// that team, and no one else's: adding the user back revives
		// none of them.
		st := s.open(t)
		for _, tm := range []string{"team-a", "team-b"} {
			if err := st.CreateTeam(ctx, store.Team{ID: tm, Name: tm}); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []store.User{{ID: "u-ada", Email: "ada@example.com"}, {ID: "u-bob", Email: "bob@example.com"}} {
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []store.Member{{Team: "team-a", UserID: "u-ada", Role: store.RoleOwner}, {Team: "team-a", UserID: "u-bob", Role: store.RoleDeveloper},
			{Team: "team-b", UserID: "u-bob", Role: store.RoleOwner}} {
			if err := st.AddMember(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		exp := time.Now().Add(time.Hour)
		revokedBefore := at(time.Second)
		for _, tok := range []store.AccessToken{
			{ID: "tok-bob-a1", Team: "team-a", KeyID: store.MemberKeyPrefix + "u-bob", ExpiresAt: exp},
			{ID: "tok-bob-a2", Team: "team-a", KeyID: store.MemberKeyPrefix + "u-bob", ExpiresAt: exp},
			{ID: "tok-bob-b", Team: "team-b", KeyID: store.MemberKeyPrefix + "u-bob", ExpiresAt: exp},
			{ID: "tok-ada-a", Team: "team-a", KeyID: store.MemberKeyPrefix + "u-ada", ExpiresAt: exp},
			{ID: "tok-key-a", Team: "team-a", KeyID: "u-bob", ExpiresAt: exp},
		} {
			if err := st.CreateAccessToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.RevokeAccessToken(ctx, "team-a", "tok-bob-a2", revokedBefore); err != nil {
			t.Fatal(err)
		}
		if err := st.RemoveMember(ctx, "team-a", "u-bob", ""); err != nil {
			t.Fatal(err)
		}
		if err := st.AddMember(ctx, store.Member{Team: "team-a", UserID: "u-bob", Role: store.RoleDeveloper}); err != nil {
			t.Fatal(err)
		}
		for id, revoked := range map[string]bool{"tok-bob-a1": true, "tok-bob-a2": true, "tok-bob-b": false, "tok-ada-a": false, "tok-key-a": false} {
			got, err := st.GetAccessToken(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if (got.RevokedAt != nil) != revoked {
				t.Errorf("token %s after its member was removed and added back: revoked at %v, want revoked %v", id, got.RevokedAt, revoked)
			}
		}
		// An earlier revocation keeps its time.
		if got, _ := st.GetAccessToken(ctx, "tok-bob-a2"); got.RevokedAt == nil || !got.RevokedAt.Equal(revokedBefore) {
			t.Errorf("token revoked before the removal: revoked at %v, want %v", got.RevokedAt, revokedBefore)
		}
		// A refused removal revokes nothing.
		if err := st.CreateAccessToken(ctx, store.AccessToken{ID: "tok-bob-b2", Team: "team-b", KeyID: store.MemberKeyPrefix + "u-bob", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, st.RemoveMember(ctx, "team-b", "u-bob", ""), errdefs.ErrFailedPrecondition, "remove the last owner")
		if got, _ := st.GetAccessToken(ctx, "tok-bob-b2"); got.RevokedAt != nil {
			t.Errorf("token of the last owner after a refused removal: revoked at %v", got.RevokedAt)
		}
	})

	t.Run("LastOwnerRace", func(t *testing.T) {
		// Two owners taken away at once: one change wins, the other is
		// refused, and the team keeps an owner, in every round.
		st := s.open(t)
		for _, u := range []store.User{{ID: "u-1", Email: "one@example.com"}, {ID: "u-2", Email: "two@example.com"}} {
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for round := 0; round < 10; round++ {
			team := id("race", round)
			if err := st.CreateTeam(ctx, store.Team{ID: team, Name: team}); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"u-1", "u-2"} {
				if err := st.AddMember(ctx, store.Member{Team: team, UserID: u, Role: store.RoleOwner}); err != nil {
					t.Fatal(err)
				}
			}
			errs := make(chan error, 2)
			go func() { errs <- st.RemoveMember(ctx, team, "u-1", "") }()
			go func() { errs <- st.SetMemberRole(ctx, team, "u-2", "", store.RoleViewer) }()
			var ok, refused int
			for range 2 {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, errdefs.ErrFailedPrecondition):
					refused++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			ms, err := st.ListMembers(ctx, team)
			if err != nil {
				t.Fatal(err)
			}
			owners := 0
			for _, m := range ms {
				if m.Role == store.RoleOwner {
					owners++
				}
			}
			if ok != 1 || refused != 1 || owners != 1 {
				t.Fatalf("round %d: %d done, %d refused, %d owners left (%+v); want 1, 1, 1", round, ok, refused, owners, ms)
			}
		}
	})
}
