package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// deleteTeam is DELETE /admin/teams/{teamID}: 204, and the team's keys
// stop working at once. The built-in team cannot be deleted, nor a team
// with live sandboxes (kill them first: a deleted team's sandboxes would
// run on with nobody able to reach or stop them).
func (t *Teams) deleteTeam(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("teamID")
	if id == store.AdminTeam {
		t.api.writeError(w, r, fmt.Errorf("team %q is the built-in administrators' team and cannot be deleted: %w", id, errdefs.ErrFailedPrecondition))
		return
	}
	if _, err := t.st.GetTeam(r.Context(), id); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	live, err := t.st.ListSandboxes(r.Context(), store.SandboxFilter{Team: id,
		States: []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePaused}})
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if len(live) > 0 {
		t.api.writeError(w, r, fmt.Errorf("team %q has %d live sandboxes (e.g. %s): kill them first: %w", id, len(live), live[0].ID, errdefs.ErrFailedPrecondition))
		return
	}
	if err := t.st.DeleteTeam(r.Context(), id, time.Now()); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
