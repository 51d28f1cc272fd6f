package server_test

import (
	"testing"
)

// TestRunningCounts: E2B's GET /admin/sandboxes/running-counts maps each
// team with running sandboxes to how many it runs, for server admins
// only; a killed sandbox no longer counts and a team without running
// sandboxes is not listed.
func TestRunningCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	admin, _ := runServer(t, nil)
	ta, ka := newTeam(t, admin, "alpha", "owner")
	tb, kb := newTeam(t, admin, "beta", "owner")
	tc, _ := newTeam(t, admin, "gamma")
	var a1, a2, b1 sandboxJSON
	ka["owner"].want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &a1)
	ka["owner"].want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &a2)
	kb["owner"].want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &b1)
	killAll(t, ka["owner"], kb["owner"])

	var counts map[string]int
	admin.want(200, "GET", "/admin/sandboxes/running-counts", nil, &counts)
	if counts[ta.TeamID] != 2 || counts[tb.TeamID] != 1 || len(counts) != 2 {
		t.Errorf("running counts %v, want %s: 2 and %s: 1 only", counts, ta.TeamID, tb.TeamID)
	}
	if _, ok := counts[tc.TeamID]; ok {
		t.Errorf("running counts %v list team %s, which runs nothing", counts, tc.TeamID)
	}

	ka["owner"].want(204, "DELETE", "/sandboxes/"+a1.SandboxID, nil, nil)
	admin.want(200, "GET", "/admin/sandboxes/running-counts", nil, &counts)
	if counts[ta.TeamID] != 1 || counts[tb.TeamID] != 1 {
		t.Errorf("after a kill: running counts %v, want %s: 1 and %s: 1", counts, ta.TeamID, tb.TeamID)
	}

	// A team's own owner does not see other teams' counts.
	wantMsg(t, ka["owner"], 403, "GET", "/admin/sandboxes/running-counts", nil, "server:admin")
}
