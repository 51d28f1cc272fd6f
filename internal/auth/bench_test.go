package auth

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// BenchmarkAuthenticateToken is the cost of checking an access token
// against SQLite: its signature and key alone, and with the look-up of
// its record that lets one token be revoked.
func BenchmarkAuthenticateToken(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
	tokens, err := LoadTokens(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	_, k, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		b.Fatal(err)
	}
	tok, exp, err := tokens.Issue(k, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := TokenID(tok)
	if err := st.CreateAccessToken(ctx, store.AccessToken{ID: id, Team: k.Team, KeyID: k.ID, ExpiresAt: exp}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		a    *Authenticator
	}{
		{"key", &Authenticator{Store: st, Tokens: tokens}},
		{"key+record", &Authenticator{Store: st, Tokens: tokens, Issued: st}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.a.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
