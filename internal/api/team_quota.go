package api

import (
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// quotaJSON is a team's quota and what its live sandboxes, templates,
// snapshots and builds hold (a SoulBox extension). A zero limit is none.
type quotaJSON struct {
	TeamID string         `json:"teamID"`
	Quota  quotaLimitJSON `json:"quota"`
	Usage  quotaUsageJSON `json:"usage"`
	// BuildWindowDays is the rolling window build minutes count over.
	BuildWindowDays int `json:"buildWindowDays"`
}

// quotaLimitJSON is the body of PUT /admin/teams/{teamID}/quota.
type quotaLimitJSON struct {
	Sandboxes    int   `json:"sandboxes"`
	CPUs         int   `json:"cpus"`
	MemoryMB     int   `json:"memoryMB"`
	DiskBytes    int64 `json:"diskBytes"`
	BuildMinutes int   `json:"buildMinutes"`
}

// quotaUsageJSON is what a team uses of its quota; build minutes to two
// decimals.
type quotaUsageJSON struct {
	tenancy.Usage
	DiskBytes    int64   `json:"diskBytes"`
	BuildMinutes float64 `json:"buildMinutes"`
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
	bu, err := tenancy.TeamBuildUsage(r.Context(), t.st, team, time.Now())
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	q := tm.Quota
	writeJSON(w, http.StatusOK, quotaJSON{TeamID: team,
		Quota:           quotaLimitJSON{q.Sandboxes, q.CPUs, q.MemoryMB, q.DiskBytes, q.BuildMinutes},
		Usage:           quotaUsageJSON{Usage: u, DiskBytes: bu.DiskBytes, BuildMinutes: bu.Minutes()},
		BuildWindowDays: int(store.BuildWindow / (24 * time.Hour))})
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
// memoryMB, diskBytes, buildMinutes}: every limit is replaced (0: none). Live sandboxes over a
// lowered quota keep running; new ones are refused until under it.
func (t *Teams) setQuota(w http.ResponseWriter, r *http.Request) {
	var b quotaLimitJSON
	if err := decodeStrictBody(r.Body, &b); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	team := r.PathValue("teamID")
	if err := t.st.SetTeamQuota(r.Context(), team, store.Quota{Sandboxes: b.Sandboxes, CPUs: b.CPUs, MemoryMB: b.MemoryMB,
		DiskBytes: b.DiskBytes, BuildMinutes: b.BuildMinutes}); err != nil {
		t.api.writeError(w, r, err)
		return
	}
	t.writeQuota(w, r, team)
}
