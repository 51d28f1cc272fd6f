package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// TestIssuedTokens: with Issued set, a token signed by the server is
// accepted only while its record exists and is not revoked; a record of
// another key does not stand for it.
func TestIssuedTokens(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	tokens, err := LoadTokens(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, k, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := Create(ctx, st, "other", "team1", false)
	a := &Authenticator{Store: st, Tokens: tokens, Issued: st}
	issue := func(recordFor *store.APIKey) (string, string) {
		t.Helper()
		tok, exp, err := tokens.Issue(k, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := TokenID(tok)
		if recordFor != nil {
			if err := st.CreateAccessToken(ctx, store.AccessToken{ID: id, Team: recordFor.Team, KeyID: recordFor.ID, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
		return tok, id
	}
	refused := func(tok, msg string) {
		t.Helper()
		if _, err := a.Authenticate(ctx, tok); !errors.Is(err, errdefs.ErrUnauthenticated) || !strings.Contains(err.Error(), msg) {
			t.Errorf("got %v, want unauthenticated saying %q", err, msg)
		}
	}

	good, id := issue(&k)
	if got, err := a.Authenticate(ctx, good); err != nil || got.ID != k.ID {
		t.Fatalf("recorded token: %+v, %v", got, err)
	}
	unrecorded, _ := issue(nil)
	refused(unrecorded, "unknown to this server")
	mismatched, _ := issue(&other)
	refused(mismatched, "unknown to this server")

	if err := st.RevokeAccessToken(ctx, "team1", id, time.Now()); err != nil {
		t.Fatal(err)
	}
	refused(good, "was revoked")
}
