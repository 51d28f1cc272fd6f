package api

import (
	"net/http"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// quotaJSON is a team's quota and what its live sandboxes hold (a
// SoulBox extension). A zero limit is none.
type quotaJSON struct {
	TeamID string         `json:"teamID"`
	Quota  quotaLimitJSON `json:"quota"`
	Usage  tenancy.Usage  `json:"usage"`
}

// quotaLimitJSON is the body of PUT /admin/teams/{teamID}/quota.
type quotaLimitJSON struct {
	Sandboxes int `json:"sandboxes"`
	CPUs      int `json:"cpus"`
	MemoryMB  int `json:"memoryMB"`
}

// writeQuota answers 200 with team's quota and usage.
func (t *Teams) writeQuota(w http.ResponseWriter, r *http.Request, team string) {
	tm, err := t.st.GetTeam(r.Context(), team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	u, err := tenancy.TeamUsage(r.Context(), t.st, team)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	q := tm.Quota
	writeJSON(w, http.StatusOK, quotaJSON{TeamID: team, Quota: quotaLimitJSON{q.Sandboxes, q.CPUs, q.MemoryMB}, Usage: u})
}

// ownQuota is GET /quota: the caller's team's quota and usage.
func (t *Teams) ownQuota(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.writeQuota(w, r, k.Team)
}

// teamQuota is GET /admin/teams/{teamID}/quota.
func (t *Teams) teamQuota(w http.ResponseWriter, r *http.Request) {
	t.writeQuota(w, r, r.PathValue("teamID"))
}

// setQuota is PUT /admin/teams/{teamID}/quota {sandboxes, cpus,
// memoryMB}: every limit is replaced (0: none). Live sandboxes over a
// lowered quota keep running; new ones are refused until under it.
func (t *Teams) setQuota(w http.ResponseWriter, r *http.Request) {
	var b quotaLimitJSON
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	team := r.PathValue("teamID")
	if err := t.st.SetTeamQuota(r.Context(), team, store.Quota{Sandboxes: b.Sandboxes, CPUs: b.CPUs, MemoryMB: b.MemoryMB}); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.writeQuota(w, r, team)
}
