package api

import "net/http"

// listMembers is GET /teams/{teamID}/members: the team's users, each
// with their role.
func (t *Teams) listMembers(w http.ResponseWriter, r *http.Request) {
	team, _, err := t.memberTeam(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	ms, err := t.st.ListMembers(r.Context(), team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMemberJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}
