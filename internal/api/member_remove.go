package api

import (
	"net/http"
)

// removeMember is DELETE /teams/{teamID}/members/{userID}: 204, and the
// member's access tokens are refused from their next request. The
// caller must outrank the member's role; the team's last owner is not
// removed (409). The user's record stays.
func (t *Teams) removeMember(w http.ResponseWriter, r *http.Request) {
	team, c, err := t.memberTeam(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	m, err := t.teamMember(r.Context(), team, r.PathValue("userID"))
	if err == nil {
		err = c.mayManage(m)
	}
	if err == nil {
		// The rank check holds for the role read: the store refuses
		// the removal if it is another by now.
		err = t.st.RemoveMember(r.Context(), team, m.UserID, m.Role)
	}
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
