package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkAuthenticateToken is the cost of checking an access token
// against a SQLite store: one standing for a key (the key is read) and
// one of a member (the membership is read), each at every request.
func BenchmarkAuthenticateToken(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
	tokens, _ := NewTokens([]byte(strings.Repeat("k", 32)))
	if err := st.CreateTeam(ctx, store.Team{ID: "team-a", Name: "a"}); err != nil {
		b.Fatal(err)
	}
	_, k, err := Create(ctx, st, "ci", "team-a", false)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u-ada", Email: "ada@example.com"}); err != nil {
		b.Fatal(err)
	}
	m := store.Member{Team: "team-a", UserID: "u-ada", Email: "ada@example.com", Role: store.RoleDeveloper}
	if err := st.AddMember(ctx, m); err != nil {
		b.Fatal(err)
	}
	keyTok, _, _ := tokens.Issue(k, time.Hour)
	memberTok, _, _ := tokens.IssueMember(m, time.Hour)
	a := &Authenticator{Store: st, Members: st, Tokens: tokens}
	for name, tok := range map[string]string{"key": keyTok, "member": memberTok} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
