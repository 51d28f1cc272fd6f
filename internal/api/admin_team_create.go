package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/tenancy"
)

// teamBody is the body of POST and PATCH /admin/teams.
type teamBody struct {
	Name string `json:"name"`
}

// createTeam is POST /admin/teams {name}: 201 with the new team.
func (t *Teams) createTeam(w http.ResponseWriter, r *http.Request) {
	var b teamBody
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	tm, err := tenancy.CreateTeam(r.Context(), t.st, b.Name)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTeamJSON(tm))
}
