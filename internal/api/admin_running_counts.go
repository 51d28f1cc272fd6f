package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/store"
)

// runningCounts is E2B's GET /admin/sandboxes/running-counts: for every
// team with running sandboxes, how many it has (E2B's
// AdminTeamRunningSandboxCounts, team id -> count). Paused sandboxes and
// those still starting are not running; a team without running
// sandboxes is not listed.
func (t *Teams) runningCounts(w http.ResponseWriter, r *http.Request) {
	running, err := t.st.ListSandboxes(r.Context(), store.SandboxFilter{States: []store.SandboxState{store.StateRunning}})
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	out := map[string]int{}
	for _, sb := range running {
		out[sb.ClientID]++
	}
	writeJSON(w, http.StatusOK, out)
}
