package api

import (
	"context"
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
	del := func(ctx context.Context, id string) error { return tenancy.DeleteTeam(ctx, t.st, id) }
	if t.delete != nil {
		del = t.delete
	}
	if err := del(r.Context(), r.PathValue("teamID")); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
