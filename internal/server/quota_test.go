package server_test

import (
	"testing"
)

type quotaJSON struct {
	TeamID string `json:"teamID"`
	Quota  struct {
		Sandboxes int `json:"sandboxes"`
		CPUs      int `json:"cpus"`
		MemoryMB  int `json:"memoryMB"`
	} `json:"quota"`
	Usage struct {
		Sandboxes int `json:"sandboxes"`
		CPUs      int `json:"cpus"`
		MemoryMB  int `json:"memoryMB"`
	} `json:"usage"`
}

// TestTeamQuota: a create over the team's quota answers 429 naming the
// limit and leaves nothing behind; a kill makes room again; usage is
// visible to the team and to server admins.
func TestTeamQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	admin, _ := runServer(t, nil)
	tm, keys := newTeam(t, admin, "quota", "developer")
	dev := keys["developer"]
	killAll(t, dev)

	path := "/admin/teams/" + tm.TeamID + "/quota"
	wantMsg(t, admin, 400, "PUT", path, map[string]any{"sandboxes": -1}, "0 (none) or more")
	wantMsg(t, admin, 400, "PUT", path, map[string]any{"gpus": 1}, "unknown field")
	wantMsg(t, admin, 404, "PUT", "/admin/teams/team_nope/quota", map[string]any{"sandboxes": 1}, "not found")
	wantMsg(t, dev, 403, "PUT", path, map[string]any{"sandboxes": 100}, "server:admin")
	var q quotaJSON
	admin.want(200, "PUT", path, map[string]any{"sandboxes": 2, "cpus": 3, "memoryMB": 4096}, &q)
	if q.Quota.Sandboxes != 2 || q.Quota.CPUs != 3 || q.Quota.MemoryMB != 4096 || q.Usage.Sandboxes != 0 {
		t.Fatalf("quota after set: %+v", q)
	}

	var first, second sandboxJSON
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 2, "memoryMB": 1024}, &first)
	// vCPUs: 2 in use, 2 more would make 4 > 3.
	wantMsg(t, dev, 429, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 2, "memoryMB": 512}, "team quota of 3 vCPUs")
	// Memory: 1024 in use, 3584 more would make 4608 > 4096.
	wantMsg(t, dev, 429, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 1, "memoryMB": 3584}, "team quota of 4096 MiB memory")
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 1, "memoryMB": 512}, &second)
	// Sandboxes: 2 live.
	wantMsg(t, dev, 429, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 1, "memoryMB": 128}, "team quota of 2 concurrent sandboxes")

	dev.want(200, "GET", "/quota", nil, &q)
	if q.TeamID != tm.TeamID || q.Usage.Sandboxes != 2 || q.Usage.CPUs != 3 || q.Usage.MemoryMB != 1536 {
		t.Errorf("usage %+v, want 2 sandboxes, 3 vCPUs, 1536 MiB", q.Usage)
	}
	var list []listedJSON
	dev.want(200, "GET", "/v2/sandboxes", nil, &list)
	if len(list) != 2 {
		t.Errorf("refused creates left sandboxes: %d listed", len(list))
	}

	// A kill makes room.
	dev.want(204, "DELETE", "/sandboxes/"+first.SandboxID, nil, nil)
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 2, "memoryMB": 512}, nil)
	admin.want(200, "GET", path, nil, &q)
	if q.Usage.Sandboxes != 2 || q.Usage.CPUs != 3 {
		t.Errorf("usage after a kill and a create: %+v", q.Usage)
	}
	// Lifting the quota lifts the refusal.
	admin.want(200, "PUT", path, map[string]any{}, &q)
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 1, "memoryMB": 128}, nil)
}
