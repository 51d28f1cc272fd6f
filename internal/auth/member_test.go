package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// TestMemberTokens: a member's access token stands for the membership
// as it is at each request: its role follows changes, and it is refused
// once the membership ends or its team is deleted. Tokens that name
// both a key and a user, or a user without a team, are refused.
func TestMemberTokens(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	tokens, err := NewTokens([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range []string{"team-a", "team-b"} {
		if err := st.CreateTeam(ctx, store.Team{ID: tm, Name: tm}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, store.User{ID: "u-ada", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []store.Member{{Team: "team-a", UserID: "u-ada", Role: store.RoleDeveloper}, {Team: "team-b", UserID: "u-ada", Role: store.RoleOwner}} {
		if err := st.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	a := &Authenticator{Store: st, Teams: st, Members: st, Tokens: tokens}
	m, _ := st.GetMember(ctx, "team-a", "u-ada")
	tok, _, err := tokens.IssueMember(m, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	k, err := a.Authenticate(ctx, tok)
	if err != nil || k.User != "u-ada" || k.ID != "user:u-ada" || k.Prefix != "ada@example.com" || k.Team != "team-a" || k.Role != store.RoleDeveloper {
		t.Fatalf("member token: %+v, %v", k, err)
	}
	if err := st.SetMemberRole(ctx, "team-a", "u-ada", "", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if k, _ := a.Authenticate(ctx, tok); k.Role != store.RoleViewer {
		t.Errorf("after the role change: %+v", k)
	}
	// Without the store of members, the token is not accepted at all.
	if _, err := (&Authenticator{Store: st, Tokens: tokens}).Authenticate(ctx, tok); !errors.Is(err, errdefs.ErrUnauthenticated) {
		t.Errorf("without members: %v", err)
	}
	if err := st.RemoveMember(ctx, "team-a", "u-ada", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, errdefs.ErrUnauthenticated) || !strings.Contains(err.Error(), "no longer a member") {
		t.Errorf("after the membership ended: %v", err)
	}
	// The other membership's token works until its team is deleted.
	m, _ = st.GetMember(ctx, "team-b", "u-ada")
	tokB, _, _ := tokens.IssueMember(m, time.Minute)
	if k, err := a.Authenticate(ctx, tokB); err != nil || k.Role != store.RoleOwner {
		t.Errorf("team-b token: %+v, %v", k, err)
	}
	if err := st.DeleteTeam(ctx, "team-b", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tokB); !errors.Is(err, errdefs.ErrUnauthenticated) {
		t.Errorf("after team-b was deleted: %v", err)
	}

	// Claims no server issues, signed with the right secret all the same.
	now := time.Now()
	for name, c := range map[string]tokenClaims{
		"key and user":         {KeyHash: "abc", User: "u-ada", Team: "team-a"},
		"user, no team":        {User: "u-ada"},
		"user not the subject": {User: "u-ada", Team: "team-a"},
	} {
		sub := "u-ada"
		if name == "user not the subject" {
			sub = "u-bob"
		}
		c.RegisteredClaims = jwt.RegisteredClaims{Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: sub,
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(tokens.secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, s); !errors.Is(err, errdefs.ErrUnauthenticated) || !strings.Contains(err.Error(), "names no key and no member") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := tokens.IssueMember(store.Member{UserID: "u-ada"}, time.Minute); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("member token without a team: %v", err)
	}
}
