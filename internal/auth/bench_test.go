package auth

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkAuthenticateToken is the cost of checking an access token
// against SQLite: a key's token by its signature and key alone, with the
// look-up of its record that lets one token be revoked, and a member's
// token (the membership and the token's record are read at every
// request).
func BenchmarkAuthenticateToken(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
	tokens, err := LoadTokens(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateTeam(ctx, store.Team{ID: "team-a", Name: "a"}); err != nil {
		b.Fatal(err)
	}
	_, k, err := Create(ctx, st, "ci", "team-a", false)
	if err != nil {
		b.Fatal(err)
	}
	keyTok, exp, err := tokens.Issue(k, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := TokenID(keyTok)
	if err := st.CreateAccessToken(ctx, store.AccessToken{ID: id, Team: k.Team, KeyID: k.ID, ExpiresAt: exp}); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u-ada", Email: "ada@example.com"}); err != nil {
		b.Fatal(err)
	}
	m := store.Member{Team: "team-a", UserID: "u-ada", Email: "ada@example.com", Role: store.RoleDeveloper}
	if err := st.AddMember(ctx, m); err != nil {
		b.Fatal(err)
	}
	memberTok, memberExp, err := tokens.IssueMember(m, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	memberID, _ := TokenID(memberTok)
	if err := st.CreateAccessToken(ctx, store.AccessToken{ID: memberID, Team: m.Team, KeyID: UserKeyPrefix + m.UserID, ExpiresAt: memberExp}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, tok string
		a         *Authenticator
	}{
		{"key", keyTok, &Authenticator{Store: st, Tokens: tokens}},
		{"key+record", keyTok, &Authenticator{Store: st, Tokens: tokens, Issued: st}},
		{"member", memberTok, &Authenticator{Store: st, Members: st, Tokens: tokens, Issued: st}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.a.Authenticate(ctx, bc.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
