package api

import (
	"net/http"
)

// memberRoleBody is the body of PATCH /teams/{teamID}/members/{userID}.
type memberRoleBody struct {
	Role string `json:"role"`
}

// setMemberRole is PATCH /teams/{teamID}/members/{userID}: the member's
// new role, 200 with the member. The caller must outrank both the old
// and the new role; the team's last owner is not demoted (409); a key
// limited to scopes, or an access token made from a key, raises no
// member's role (403). The
// member's access tokens have the new role at their next request.
func (t *Teams) setMemberRole(w http.ResponseWriter, r *http.Request) {
	team, c, err := t.memberTeam(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	var b memberRoleBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	role, err := parseRole(b.Role)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	m, err := t.teamMember(r.Context(), team, r.PathValue("userID"))
	if err == nil {
		err = c.mayManage(m)
	}
	if err == nil {
		err = c.mayGrant(role)
	}
	if err == nil {
		err = c.mayGrantMembership(m.Role, role)
	}
	if err == nil {
		// The rank checks above hold for the role read: the store
		// refuses the change if it is another by now.
		err = t.st.SetMemberRole(r.Context(), team, m.UserID, m.Role, role)
	}
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	m.Role = role
	writeJSON(w, http.StatusOK, toMemberJSON(m))
}
