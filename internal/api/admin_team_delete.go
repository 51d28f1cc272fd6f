package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/tenancy"
)

// deleteTeam is DELETE /admin/teams/{teamID}: 204, and the team's keys
// stop working at once. The built-in team cannot be deleted, nor a team
// with live sandboxes (409 naming one). An access token
// deletes no team.
func (t *Teams) deleteTeam(w http.ResponseWriter, r *http.Request) {
	if t.refuseToken(w, r, "delete teams") {
		return
	}
	if err := tenancy.DeleteTeam(r.Context(), t.st, r.PathValue("teamID")); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
