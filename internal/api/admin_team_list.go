package api

import "net/http"

// listTeams is GET /admin/teams: every team.
func (t *Teams) listTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := t.st.ListTeams(r.Context())
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := make([]teamJSON, 0, len(teams))
	for _, tm := range teams {
		out = append(out, toTeamJSON(tm))
	}
	writeJSON(w, http.StatusOK, out)
}
