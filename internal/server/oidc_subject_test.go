package server_test

import (
	"testing"
)

// TestOIDCSubjectBound: the issuer's account (sub) that first signs in
// as a user is bound to them: an ID token with the same email but
// another sub is refused (403 saying why) and gives no token, while the
// bound account still signs in. An ID token that does not say the email
// is verified is refused.
func TestOIDCSubjectBound(t *testing.T) {
	admin, is := runOIDCServer(t)
	alpha, keys := newTeam(t, admin, "alpha", "owner")
	keys["owner"].want(201, "POST", "/teams/"+alpha.TeamID+"/members", map[string]any{"email": "ada@example.com", "role": "developer"}, nil)
	anon := admin
	anon.key = ""

	unverified := is.Claims("ada@example.com")
	delete(unverified, "email_verified")
	wantMsg(t, anon, 403, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, unverified)}, "email_verified")

	anon.want(201, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@example.com"))}, nil)
	other := is.Claims("ada@example.com")
	other["sub"] = "another-account"
	wantMsg(t, anon, 403, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, other)}, "another account of the OIDC issuer")
	var mt memberTokenJSON
	anon.want(201, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims("Ada@Example.com"))}, &mt)
	if mt.Email != "ada@example.com" {
		t.Errorf("the bound account's sign-in: %+v", mt)
	}
}
