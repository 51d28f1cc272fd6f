package api

import "net/http"

// listKeys is E2B's GET /api-keys: the caller's team's live keys.
func (t *Teams) listKeys(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	keys, err := t.st.ListTeamAPIKeys(r.Context(), k.Team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := []keyJSON{}
	for _, k := range keys {
		if k.RevokedAt == nil {
			out = append(out, toKeyJSON(k))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
