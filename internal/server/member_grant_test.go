package server_test

import (
	"testing"
)

// TestMemberGrantNeedsFullCredential: a membership has every right of
// its role, so a key limited to scopes adds no member and raises no
// member's role, and an access token made from a key, however
// privileged, does neither (it must not outlive itself as a
// membership); a member's own token (their only credential) still may.
// Each refusal is 403 saying why and the members stay as they were.
func TestMemberGrantNeedsFullCredential(t *testing.T) {
	admin, is := runOIDCServer(t)
	alpha, keys := newTeam(t, admin, "alpha", "owner")
	owner := keys["owner"]
	members := "/teams/" + alpha.TeamID + "/members"
	scoped := teamKey(t, admin, alpha.TeamID, "admin", []string{"members:manage", "sandboxes:read"})
	var ada, bob memberJSON
	owner.want(201, "POST", members, map[string]any{"email": "ada@example.com", "role": "admin"}, &ada)
	owner.want(201, "POST", members, map[string]any{"email": "bob@example.com", "role": "viewer"}, &bob)
	var tok tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{}, &tok)
	keyToken := owner
	keyToken.key = tok.Token

	for _, tc := range []struct {
		name         string
		c            apiClient
		method, path string
		body         map[string]any
		msg          string
	}{
		{"scoped key adds", scoped, "POST", members, map[string]any{"email": "eve@example.com", "role": "viewer"}, "limited to scopes"},
		{"scoped key promotes", scoped, "PATCH", members + "/" + bob.ID, map[string]any{"role": "developer"}, "limited to scopes"},
		{"key token adds", keyToken, "POST", members, map[string]any{"email": "eve@example.com", "role": "viewer"}, "access token made from an API key"},
		{"key token promotes", keyToken, "PATCH", members + "/" + bob.ID, map[string]any{"role": "admin"}, "access token made from an API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantMsg(t, tc.c, 403, tc.method, tc.path, tc.body, tc.msg)
		})
	}
	var list []memberJSON
	owner.want(200, "GET", members, nil, &list)
	if len(list) != 2 || list[0].Role != "admin" || list[1].Email != "bob@example.com" || list[1].Role != "viewer" {
		t.Fatalf("members after the refusals: %+v", list)
	}

	// A scoped key may still lower a role; a member's token adds and
	// promotes.
	scoped.want(200, "PATCH", members+"/"+bob.ID, map[string]any{"role": "viewer"}, nil)
	var mt memberTokenJSON
	anon := admin
	anon.key = ""
	anon.want(201, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims("ada@example.com"))}, &mt)
	member := admin
	member.key = mt.Token
	member.want(201, "POST", members, map[string]any{"email": "carol@example.com", "role": "viewer"}, nil)
	member.want(200, "PATCH", members+"/"+bob.ID, map[string]any{"role": "developer"}, nil)
	owner.want(200, "GET", members, nil, &list)
	if len(list) != 3 || list[1].Role != "developer" {
		t.Errorf("members after the member's changes: %+v", list)
	}
}
