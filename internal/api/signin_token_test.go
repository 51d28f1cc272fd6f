package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/signin"
	"github.com/soulbox/soulbox/internal/signin/oidctest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestSignInRefusalsAudited: every refused sign-in, of each kind, is
// answered with its status and message, writes an audit entry of its
// own carrying that message (no collapsing per address here), and
// leaves the users and memberships as they were.
func TestSignInRefusalsAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	is := oidctest.New(t, "soulbox-test")
	v, err := signin.New(signin.Config{Issuer: is.URL, ClientID: "soulbox-test"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := auth.NewTokens(bytes.Repeat([]byte("s"), 32))
	rec := audit.New(st, bytes.Repeat([]byte("a"), 32), 0, nil)
	if err := st.CreateTeam(ctx, store.Team{ID: "team-a", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "u-ada", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	NewSignIn(SignInConfig{Verifier: v, Store: st, Tokens: tokens, Audit: rec}).Register(mux)

	strange, _ := rsa.GenerateKey(rand.Reader, 2048)
	expired := is.Claims("ada@example.com")
	expired["exp"] = time.Now().Add(-time.Minute).Unix()
	wrongAud := is.Claims("ada@example.com")
	wrongAud["aud"] = "another-app"
	other := oidctest.New(t, "soulbox-test")
	cases := []struct {
		name   string
		token  string
		status int
		msg    string
	}{
		{"another issuer", other.IDToken(t, other.Claims("ada@example.com")), 401, "not by this server's OIDC issuer"},
		{"wrong audience", is.IDToken(t, wrongAud), 401, "audience"},
		{"expired", is.IDToken(t, expired), 401, "expired"},
		{"another key", oidctest.SignRS256(t, strange, is.KeyID, is.Claims("ada@example.com")), 401, "signature"},
		{"alg none", oidctest.Unsigned(t, is.Claims("ada@example.com")), 401, `algorithm \"none\"`},
		{"HS256 with the public key", is.HS256WithPublicKey(t, is.Claims("ada@example.com")), 401, `algorithm \"HS256\"`},
		{"unknown user", is.IDToken(t, is.Claims("bob@example.com")), 403, "not a SoulBox user"},
		{"user of no team", is.IDToken(t, is.Claims("ada@example.com")), 403, "member of no team"},
	}
	for i, tc := range cases {
		body, _ := json.Marshal(map[string]any{"idToken": tc.token})
		req := httptest.NewRequest("POST", "/auth/oidc/token", bytes.NewReader(body))
		req.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s, want %d saying %s", tc.name, w.Code, w.Body, tc.status, tc.msg)
		}
		entries, err := st.ListAudit(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != i+1 {
			t.Fatalf("%s: %d audit entries, want %d", tc.name, len(entries), i+1)
		}
		e := entries[i]
		if e.Action != "POST authenticate" || e.Target != "/auth/oidc/token" || e.Status != tc.status || e.Remote != "192.0.2.1:1234" ||
			!strings.Contains(e.Message, strings.ReplaceAll(tc.msg, `\"`, `"`)) {
			t.Errorf("%s: audit entry %+v", tc.name, e)
		}
	}
	// Nothing was made: no user but ada, in no team.
	if _, err := st.UserByEmail(ctx, "bob@example.com"); err == nil {
		t.Error("a refused sign-in made a user")
	}
	if ms, _ := st.ListUserTeams(ctx, "u-ada"); len(ms) != 0 {
		t.Errorf("ada's teams after the refusals: %+v", ms)
	}
}
