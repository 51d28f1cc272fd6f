package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// killResultJSON is E2B's AdminSandboxKillResult.
type killResultJSON struct {
	KilledCount int `json:"killedCount"`
	FailedCount int `json:"failedCount"`
}

// killTeamSandboxes is E2B's POST /admin/teams/{teamID}/sandboxes/kill:
// every live sandbox of the team is killed; 200 with the counts.
func (t *Teams) killTeamSandboxes(w http.ResponseWriter, r *http.Request) {
	team := r.PathValue("teamID")
	if _, err := t.st.GetTeam(r.Context(), team); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	live, err := tenancy.LiveSandboxes(r.Context(), t.st, team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	var out killResultJSON
	for _, sb := range live {
		if err := t.lc.Kill(r.Context(), sb.ID, store.ReasonKilled, "killed with its team by a server admin"); err != nil {
			out.FailedCount++
			if t.api.log != nil {
				t.api.log.Warn("kill a team's sandbox", logx.Sandbox(sb.ID), logx.Err(err))
			}
			continue
		}
		out.KilledCount++
	}
	writeJSON(w, http.StatusOK, out)
}
