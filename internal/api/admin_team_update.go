package api

import "net/http"

// renameTeam is PATCH /admin/teams/{teamID} {name}: 200 with the team.
func (t *Teams) renameTeam(w http.ResponseWriter, r *http.Request) {
	var b teamBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	id := r.PathValue("teamID")
	if err := t.st.RenameTeam(r.Context(), id, b.Name); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	tm, err := t.st.GetTeam(r.Context(), id)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTeamJSON(tm))
}
