package server_test

import (
	"testing"
)

// TestMemberTokenRevoke: a member's access token can be revoked like a
// key's, by the member or by a key manager who outranks them (not by one
// who does not), and ending the membership revokes it for good: adding
// the user back does not revive it.
func TestMemberTokenRevoke(t *testing.T) {
	admin, is := runOIDCServer(t)
	alpha, keys := newTeam(t, admin, "alpha", "owner", "admin", "developer")
	members := "/teams/" + alpha.TeamID + "/members"
	anon := admin
	anon.key = ""
	var ada, bob memberJSON
	keys["owner"].want(201, "POST", members, map[string]any{"email": "ada@example.com", "role": "developer"}, &ada)
	keys["owner"].want(201, "POST", members, map[string]any{"email": "bob@example.com", "role": "owner"}, &bob)
	signIn := func(email string) (memberTokenJSON, apiClient) {
		t.Helper()
		var mt memberTokenJSON
		anon.want(201, "POST", "/auth/oidc/token", map[string]any{"idToken": is.IDToken(t, is.Claims(email))}, &mt)
		if mt.ID == "" {
			t.Fatalf("sign-in answered no token id: %+v", mt)
		}
		c := admin
		c.key = mt.Token
		return mt, c
	}

	// The member logs themself out: 204, then the token is refused.
	mt, member := signIn("ada@example.com")
	member.want(200, "GET", "/sandboxes", nil, nil)
	member.want(204, "DELETE", "/access-tokens/"+mt.ID, nil, nil)
	wantMsg(t, member, 401, "GET", "/sandboxes", nil, "revoked")
	wantMsg(t, keys["owner"], 404, "DELETE", "/access-tokens/"+mt.ID, nil, "access token")

	// A key without the right to manage keys may not revoke it; an admin
	// key may revoke a developer's token but not an owner's.
	mt, member = signIn("ada@example.com")
	wantMsg(t, keys["developer"], 403, "DELETE", "/access-tokens/"+mt.ID, nil, "another key or member")
	member.want(200, "GET", "/sandboxes", nil, nil)
	keys["admin"].want(204, "DELETE", "/access-tokens/"+mt.ID, nil, nil)
	wantMsg(t, member, 401, "GET", "/sandboxes", nil, "revoked")
	bt, owner := signIn("bob@example.com")
	wantMsg(t, keys["admin"], 403, "DELETE", "/access-tokens/"+bt.ID, nil, "outranks")
	owner.want(200, "GET", "/sandboxes", nil, nil)

	// Removed and added back: the old token stays refused, a new
	// sign-in works.
	_, member = signIn("ada@example.com")
	member.want(200, "GET", "/sandboxes", nil, nil)
	keys["owner"].want(204, "DELETE", members+"/"+ada.ID, nil, nil)
	keys["owner"].want(201, "POST", members, map[string]any{"email": "ada@example.com", "role": "developer"}, nil)
	wantMsg(t, member, 401, "GET", "/sandboxes", nil, "access token")
	_, member = signIn("ada@example.com")
	member.want(200, "GET", "/sandboxes", nil, nil)
}
