package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/signin/oidctest"
	"github.com/soulbox/soulbox/internal/store"
)

// memberTokenJSON is the answer of POST /auth/oidc/token.
type memberTokenJSON struct {
	ID     string `json:"id"`
	Token  string `json:"token"`
	TeamID string `json:"teamID"`
	UserID string `json:"userID"`
	Email  string `json:"email"`
	Role   string `json:"role"`
}

// runOIDCServer runs a server that trusts a test issuer on loopback,
// for addresses at example.com.
func runOIDCServer(t *testing.T) (apiClient, *oidctest.Issuer) {
	t.Helper()
	is := oidctest.New(t, "soulbox-test")
	admin, _ := runServer(t, func(c *server.Config) {
		c.OIDC = server.OIDCConfig{Issuer: is.URL, ClientID: "soulbox-test", AllowedDomains: "example.com"}
	})
	return admin, is
}

// TestOIDCSignIn: a member exchanges the issuer's ID token for an access
// token of their team with their role, which follows role changes and
// stops working at once when the membership ends, an open event stream
// included. Every bad token and every user without a membership is
// refused with a message saying why, nothing changes, and the refusal
// is in the audit log.
func TestOIDCSignIn(t *testing.T) {
	admin, is := runOIDCServer(t)
	alpha, keys := newTeam(t, admin, "alpha", "owner")
	beta, _ := newTeam(t, admin, "beta", "owner")
	owner := keys["owner"]
	members := "/teams/" + alpha.TeamID + "/members"
	var ada memberJSON
	owner.want(201, "POST", members, map[string]any{"email": "ada@example.com", "role": "developer"}, &ada)
	anon := admin
	anon.key = ""

	var oc struct {
		Issuer, ClientID, DeviceAuthorizationEndpoint, TokenEndpoint string
	}
	anon.want(200, "GET", "/auth/oidc", nil, &oc)
	if oc.Issuer != is.URL || oc.ClientID != "soulbox-test" || oc.DeviceAuthorizationEndpoint != is.URL+"/device" || oc.TokenEndpoint != is.URL+"/token" {
		t.Errorf("GET /auth/oidc: %+v", oc)
	}

	// Bad tokens and users without a membership: refused, saying why.
	other := oidctest.New(t, "soulbox-test")
	strange, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := is.Claims("ada@example.com")
		change(c)
		return c
	}
	refusals := []struct {
		name   string
		body   map[string]any
		status int
		msg    string
	}{
		{"another issuer", map[string]any{"idToken": other.IDToken(t, other.Claims("ada@example.com"))}, 401, "not by this server's OIDC issuer"},
		{"wrong audience", map[string]any{"idToken": is.IDToken(t, claims(func(c jwt.MapClaims) { c["aud"] = "other-app" }))}, 401, "audience"},
		{"expired", map[string]any{"idToken": is.IDToken(t, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))}, 401, "expired"},
		{"another key", map[string]any{"idToken": oidctest.SignRS256(t, strange, is.KeyID, is.Claims("ada@example.com"))}, 401, "signature"},
		{"alg none", map[string]any{"idToken": oidctest.Unsigned(t, is.Claims("ada@example.com"))}, 401, `algorithm \"none\"`},
		{"HS256 with the public key", map[string]any{"idToken": is.HS256WithPublicKey(t, is.Claims("ada@example.com"))}, 401, `algorithm \"HS256\"`},
		{"malformed", map[string]any{"idToken": "x.y.z"}, 401, "malformed"},
		{"unknown user", map[string]any{"idToken": is.IDToken(t, is.Claims("bob@example.com"))}, 403, "not a SoulBox user"},
		{"domain not allowed", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@elsewhere.example"))}, 403, "example.com only"},
		{"another team", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@example.com")), "teamID": beta.TeamID}, 403, "not a member of team"},
		{"no token", map[string]any{}, 400, "idToken"},
		{"unknown field", map[string]any{"idToken": "x", "admin": true}, 400, "admin"},
		{"ttl too long", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@example.com")), "ttlSeconds": 90000}, 400, "ttlSeconds"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			wantMsg(t, anon, tc.status, "POST", "/auth/oidc/token", tc.body, tc.msg)
		})
	}
	var users []memberJSON
	owner.want(200, "GET", members, nil, &users)
	if len(users) != 1 || users[0].Role != "developer" {
		t.Errorf("members after the refusals: %+v", users)
	}
	admin.want(200, "GET", "/teams/"+beta.TeamID+"/members", nil, &users)
	if len(users) != 0 {
		t.Errorf("team beta's members after the refusals: %+v", users)
	}

	// The exchange, and the member's token at work.
	var mt memberTokenJSON
	anon.want(201, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims("Ada@Example.com"))}, &mt)
	if mt.TeamID != alpha.TeamID || mt.UserID != ada.ID || mt.Email != "ada@example.com" || mt.Role != "developer" {
		t.Errorf("member token: %+v", mt)
	}
	member := admin
	member.key = mt.Token
	var teams []struct{ TeamID string }
	member.want(200, "GET", "/teams", nil, &teams)
	if len(teams) != 1 || teams[0].TeamID != alpha.TeamID {
		t.Errorf("GET /teams with the member's token: %+v", teams)
	}
	member.want(200, "GET", "/sandboxes", nil, nil)
	wantMsg(t, member, 403, "GET", "/api-keys", nil, "ada@example.com")
	wantMsg(t, member, 403, "POST", "/access-tokens", map[string]any{}, "access token cannot make access tokens")
	// A new role holds from the next request.
	owner.want(200, "PATCH", members+"/"+ada.ID, map[string]any{"role": "admin"}, nil)
	member.want(200, "GET", "/api-keys", nil, nil)
	member.want(200, "GET", members, nil, nil)

	// The audit log has the sign-in, and the refused attempts (the
	// first of this address's refusals on its own).
	var entries []store.AuditEntry
	admin.want(200, "GET", "/audit", nil, &entries)
	if e := find(entries, "POST /auth/oidc/token"); len(e) == 0 || e[len(e)-1].Team != alpha.TeamID || e[len(e)-1].KeyPrefix != "ada@example.com" || e[len(e)-1].Status != 201 {
		t.Errorf("audit entries of the sign-in: %+v", e)
	}
	refused := find(entries, "POST authenticate")
	if len(refused) == 0 || refused[0].Target != "/auth/oidc/token" || refused[0].Status != 401 || !strings.Contains(refused[0].Message, "OIDC issuer") {
		t.Errorf("audit entries of refused sign-ins: %+v", refused)
	}

	// Removing the membership refuses the token at once, and ends the
	// member's open event stream.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, stream := openEvents(t, ctx, admin.base, mt.Token, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("events with the member's token: %d", resp.StatusCode)
	}
	owner.want(204, "DELETE", members+"/"+ada.ID, nil, nil)
	wantMsg(t, member, 401, "GET", "/sandboxes", nil, "no longer a member")
	if ev, ended := waitEnd(stream, 30*time.Second); !ended || ev.typ != "error" {
		t.Errorf("member's stream: ended %v, last event %+v; want it ended with an error event", ended, ev)
	}
	// And they cannot sign in again.
	wantMsg(t, anon, 403, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@example.com"))}, "member of no team")
}

// TestOIDCOff: without an issuer configured, the sign-in routes say so
// and nothing else changes.
func TestOIDCOff(t *testing.T) {
	admin, _ := runServer(t, nil)
	anon := admin
	anon.key = ""
	wantMsg(t, anon, 404, "GET", "/auth/oidc", nil, "not configured")
	wantMsg(t, anon, 409, "POST", "/auth/oidc/token", map[string]any{"idToken": "a.b.c"}, "not configured")
}
