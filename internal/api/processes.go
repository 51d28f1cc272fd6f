package api

import "net/http"

// killProcesses ends every process of a running sandbox but its agent:
// POST /sandboxes/{id}/processes/kill, a SoulBox extension (E2B has no
// equivalent). It is how a sandbox whose processes fill its limits (the
// agent answers but cannot start anything) is made usable again without
// losing it; see lifecycle.Manager.KillProcesses.
func (a *API) killProcesses(w http.ResponseWriter, r *http.Request) {
	sb, err := a.owned(r)
	if err == nil {
		err = a.lc.KillProcesses(r.Context(), sb.ID)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
