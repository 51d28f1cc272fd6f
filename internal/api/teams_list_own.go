package api

import (
	"net/http"
)

// e2bTeamJSON is E2B's Team. apiKey is the calling key's masked prefix:
// keys are not kept, so none can be shown.
type e2bTeamJSON struct {
	TeamID    string `json:"teamID"`
	Name      string `json:"name"`
	APIKey    string `json:"apiKey"`
	IsDefault bool   `json:"isDefault"`
}

// listOwn is E2B's GET /teams: the caller's team.
func (t *Teams) listOwn(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err == nil {
		var tm = e2bTeamJSON{TeamID: k.Team, APIKey: k.Prefix + "…", IsDefault: true}
		team, gerr := t.st.GetTeam(r.Context(), k.Team)
		if gerr != nil {
			err = gerr
		}
		tm.Name = team.Name
		if err == nil {
			writeJSON(w, http.StatusOK, []e2bTeamJSON{tm})
			return
		}
	}
	t.api.writeError(w, r, err)
}
