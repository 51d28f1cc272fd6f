package server_test

import (
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// memberJSON is a member as /teams/{teamID}/members shows it: E2B's
// TeamUser with the role.
type memberJSON struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	TeamID string `json:"teamID"`
	Role   string `json:"role"`
}

// TestMembers: a team's owners and admins add users by email, change
// their roles and remove them; nobody gives a role above their own; the
// last owner stays; other teams see nothing; bad input changes nothing;
// every change is in the audit log.
func TestMembers(t *testing.T) {
	admin, _ := runServer(t, nil)
	tm, keys := newTeam(t, admin, "alpha", "owner", "admin", "developer", "viewer")
	_, other := newTeam(t, admin, "beta", "owner")
	owner, adm := keys["owner"], keys["admin"]
	base := "/teams/" + tm.TeamID + "/members"

	var ada, bob memberJSON
	owner.want(201, "POST", base, map[string]any{"email": " Ada@Example.com ", "role": "owner"}, &ada)
	if ada.Email != "ada@example.com" || ada.Role != "owner" || ada.TeamID != tm.TeamID || len(ada.ID) != 36 {
		t.Errorf("added member: %+v", ada)
	}
	adm.want(201, "POST", base, map[string]any{"email": "bob@example.com"}, &bob)
	if bob.Role != "developer" {
		t.Errorf("default role: %+v", bob)
	}

	// Refusals, none of which changes anything.
	wantMsg(t, adm, 403, "POST", base, map[string]any{"email": "carol@example.com", "role": "owner"}, "outranks")
	wantMsg(t, adm, 403, "PATCH", base+"/"+ada.ID, map[string]any{"role": "viewer"}, "outranks")
	wantMsg(t, adm, 403, "DELETE", base+"/"+ada.ID, nil, "outranks")
	for _, who := range []string{"developer", "viewer"} {
		wantMsg(t, keys[who], 403, "GET", base, nil, "members:manage")
		wantMsg(t, keys[who], 403, "POST", base, map[string]any{"email": "eve@example.com"}, "members:manage")
	}
	wantMsg(t, owner, 400, "POST", base, map[string]any{"email": "not-an-address"}, "email")
	wantMsg(t, owner, 400, "POST", base, map[string]any{"email": "a@b@c"}, "email")
	wantMsg(t, owner, 400, "POST", base, map[string]any{"email": "eve@example.com", "role": "root"}, "role")
	wantMsg(t, owner, 400, "POST", base, map[string]any{"email": "eve@example.com", "admin": true}, "admin")
	wantMsg(t, owner, 400, "POST", base, map[string]any{"email": strings.Repeat("a", 300) + "@example.com"}, "email")
	wantMsg(t, owner, 409, "POST", base, map[string]any{"email": "BOB@example.com", "role": "viewer"}, "already a member")
	wantMsg(t, owner, 400, "PATCH", base+"/"+bob.ID, map[string]any{"role": "god"}, "role")
	wantMsg(t, owner, 404, "PATCH", base+"/no-such-user", map[string]any{"role": "viewer"}, "not a member")
	wantMsg(t, owner, 404, "DELETE", base+"/no-such-user", nil, "not a member")
	// The last owner is neither demoted nor removed.
	wantMsg(t, owner, 409, "PATCH", base+"/"+ada.ID, map[string]any{"role": "admin"}, "last owner")
	wantMsg(t, owner, 409, "DELETE", base+"/"+ada.ID, nil, "last owner")

	var list []memberJSON
	owner.want(200, "GET", base, nil, &list)
	if len(list) != 2 || list[0].Email != "ada@example.com" || list[0].Role != "owner" || list[1].Email != "bob@example.com" || list[1].Role != "developer" {
		t.Fatalf("members after the refusals: %+v", list)
	}

	// Another team sees none of it; a server admin manages any team.
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", base, nil},
		{"POST", base, map[string]any{"email": "mallory@example.com", "role": "viewer"}},
		{"PATCH", base + "/" + bob.ID, map[string]any{"role": "viewer"}},
		{"DELETE", base + "/" + bob.ID, nil},
	} {
		code, body, _ := other["owner"].do(tc.method, tc.path, tc.body)
		if code != 404 || strings.Contains(string(body), "example.com") {
			t.Errorf("team beta: %s %s = %d %s, want 404", tc.method, tc.path, code, body)
		}
	}
	admin.want(200, "GET", base, nil, &list)
	if len(list) != 2 {
		t.Errorf("server admin's list: %+v", list)
	}

	// Bob becomes owner, so ada may go; bob, now the last owner, is not
	// removed even by a server admin.
	var changed memberJSON
	owner.want(200, "PATCH", base+"/"+bob.ID, map[string]any{"role": "owner"}, &changed)
	if changed.Role != "owner" {
		t.Errorf("after PATCH: %+v", changed)
	}
	owner.want(204, "DELETE", base+"/"+ada.ID, nil, nil)
	wantMsg(t, admin, 409, "DELETE", base+"/"+bob.ID, nil, "last owner")
	owner.want(200, "GET", base, nil, &list)
	if len(list) != 1 || list[0].ID != bob.ID {
		t.Errorf("members at the end: %+v", list)
	}
	// A server admin's change to the team's members is the team's
	// record.
	var carol memberJSON
	admin.want(201, "POST", base, map[string]any{"email": "carol@example.com", "role": "viewer"}, &carol)

	// Every change and refusal is in the team's audit log.
	var entries []store.AuditEntry
	owner.want(200, "GET", "/audit", nil, &entries)
	for action, want := range map[string]int{
		// 2 added, 1 by a server admin; refused: 1 outranking role, 2
		// without the permission, 5 bad bodies, 1 already a member.
		"POST /teams/{teamID}/members": 3 + 1 + 2 + 5 + 1,
		// 1 changed; refused: outranking, bad role, not a member, last owner.
		"PATCH /teams/{teamID}/members/{userID}": 1 + 4,
		// 1 removed; refused: outranking, not a member, last owner.
		"DELETE /teams/{teamID}/members/{userID}": 1 + 3,
	} {
		if got := len(find(entries, action)); got != want {
			t.Errorf("audit entries %q: %d, want %d", action, got, want)
		}
	}
}
