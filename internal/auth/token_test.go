package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func TestAccessTokens(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	dir := t.TempDir()
	tokens, err := LoadTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, TokenKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token key file: %v, %v", fi, err)
	}
	again, err := LoadTokens(dir)
	if err != nil || string(again.secret) != string(tokens.secret) {
		t.Fatalf("a second load made another secret: %v", err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tokens.now = func() time.Time { return now }
	_, k, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	_, revoked, _ := Create(ctx, st, "old", "team1", false)
	a := &Authenticator{Store: st, Tokens: tokens, now: tokens.now}

	tok, exp, err := tokens.Issue(k, 10*time.Minute)
	if err != nil || !exp.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("issue: %v, expires %v", err, exp)
	}
	if got, err := a.Authenticate(ctx, tok); err != nil || got.ID != k.ID || got.Team != "team1" {
		t.Fatalf("valid token: %+v, %v", got, err)
	}
	for _, ttl := range []time.Duration{-time.Second, time.Millisecond, 25 * time.Hour} {
		if _, _, err := tokens.Issue(k, ttl); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("lifetime %v: %v", ttl, err)
		}
	}

	other, _ := NewTokens([]byte(strings.Repeat("x", 32)))
	other.now = tokens.now
	foreign, _, _ := other.Issue(k, time.Minute)
	revTok, _, _ := tokens.Issue(revoked, 10*time.Minute)
	if err := st.RevokeAPIKey(ctx, revoked.ID, now); err != nil {
		t.Fatal(err)
	}
	expired, _, _ := tokens.Issue(k, time.Minute)
	enc := base64.RawURLEncoding.EncodeToString
	payload := strings.Split(tok, ".")[1]
	none := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + "."
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"iss": "soulbox", "sub": k.ID, "kh": k.Hash, "exp": now.Add(time.Hour).Unix()}).SignedString(tokens.secret)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "soulbox", "sub": k.ID, "kh": k.Hash}).SignedString(tokens.secret)
	wrongSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "soulbox", "aud": "soulbox-api", "sub": revoked.ID, "kh": k.Hash, "exp": now.Add(time.Hour).Unix()}).SignedString(tokens.secret)
	noAud, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "soulbox", "sub": k.ID, "kh": k.Hash, "exp": now.Add(time.Hour).Unix()}).SignedString(tokens.secret)
	otherAud, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "soulbox", "aud": "dashboard", "sub": k.ID, "kh": k.Hash, "exp": now.Add(time.Hour).Unix()}).SignedString(tokens.secret)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + enc([]byte(`{"iss":"soulbox","sub":"`+k.ID+`","kh":"`+k.Hash+`","team":"team2","exp":9999999999}`)) + "." + parts[2]

	now = now.Add(2 * time.Minute) // expired is now past its minute
	for _, tc := range []struct{ name, token, msg string }{
		{"expired", expired, "access token expired"},
		{"another server's", foreign, "signature invalid"},
		{"alg none", none, "only HS256"},
		{"HS512", hs512, "only HS256"},
		{"no expiry", noExp, "access token refused"},
		{"tampered claims", tampered, "signature invalid"},
		{"subject of another key", wrongSub, "unknown API key"},
		{"no audience", noAud, "not meant for this API"},
		{"another audience", otherAud, "not meant for this API"},
		{"revoked key", revTok, "was revoked"},
		{"garbage", "a.b.c", "malformed access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Authenticate(ctx, tc.token)
			if !errors.Is(err, errdefs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.msg) || got.ID != "" {
				t.Errorf("got %+v, %v; want unauthenticated saying %q", got, err, tc.msg)
			}
		})
	}
	// Still valid 2 minutes on: the 10-minute token.
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Errorf("the 10-minute token after 2 minutes: %v", err)
	}
	// Without Tokens, a token is just a malformed key.
	if _, err := (&Authenticator{Store: st}).Authenticate(ctx, tok); err == nil || !strings.Contains(err.Error(), "malformed API key") {
		t.Errorf("token to an authenticator without tokens: %v", err)
	}
	_ = store.APIKey{}
}
