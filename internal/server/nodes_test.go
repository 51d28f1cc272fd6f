package server_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type nodeMetricsJSON struct {
	AllocatedCPU         int    `json:"allocatedCPU"`
	AllocatedMemoryBytes uint64 `json:"allocatedMemoryBytes"`
	CPUPercent           *int   `json:"cpuPercent"`
	CPUCount             int    `json:"cpuCount"`
	MemoryUsedBytes      uint64 `json:"memoryUsedBytes"`
	MemoryTotalBytes     uint64 `json:"memoryTotalBytes"`
	Disks                []struct {
		MountPoint     string `json:"mountPoint"`
		FilesystemType string `json:"filesystemType"`
		UsedBytes      uint64 `json:"usedBytes"`
		TotalBytes     uint64 `json:"totalBytes"`
	} `json:"disks"`
}

type nodeJSON struct {
	ID                   string          `json:"id"`
	ServiceInstanceID    string          `json:"serviceInstanceID"`
	Status               string          `json:"status"`
	SandboxCount         int             `json:"sandboxCount"`
	SandboxStartingCount *int            `json:"sandboxStartingCount"`
	CreateSuccesses      uint64          `json:"createSuccesses"`
	CreateFails          *uint64         `json:"createFails"`
	Version              string          `json:"version"`
	Metrics              nodeMetricsJSON `json:"metrics"`
	CachedBuilds         []string        `json:"cachedBuilds"`
	MachineInfo          struct {
		CPUArchitecture string `json:"cpuArchitecture"`
	} `json:"machineInfo"`
}

// TestNodes: GET /nodes reports this host in E2B's shape, its sandboxes
// counted and what they were given summed; GET /nodes/{id} its detail;
// only an admin key sees them.
func TestNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, cfg := runServer(t, nil)
	waitReady(t, c)
	create(t, c, map[string]any{"timeout": 120, "cpuCount": 1, "memoryMB": 256})
	create(t, c, map[string]any{"timeout": 120, "cpuCount": 2, "memoryMB": 512})
	c.want(404, "POST", "/sandboxes", map[string]any{"templateID": "no-such-template"}, nil)

	var nodes []nodeJSON
	c.want(200, "GET", "/nodes", nil, &nodes)
	if len(nodes) != 1 {
		t.Fatalf("nodes %+v, want this host", nodes)
	}
	n := nodes[0]
	m := n.Metrics
	if n.ID == "" || n.ServiceInstanceID == "" || n.Status != "ready" || n.Version == "" || n.MachineInfo.CPUArchitecture == "" {
		t.Errorf("node %+v", n)
	}
	if n.SandboxCount != 2 || n.SandboxStartingCount == nil || *n.SandboxStartingCount != 0 {
		t.Errorf("sandbox counts %d, %v; want 2 running, 0 starting", n.SandboxCount, n.SandboxStartingCount)
	}
	// A create refused for the client's mistake is no failure of the node.
	if n.CreateSuccesses != 2 || n.CreateFails == nil || *n.CreateFails != 0 {
		t.Errorf("creates %d ok, %v failed; want 2 and 0", n.CreateSuccesses, n.CreateFails)
	}
	if m.AllocatedCPU != 3 || m.AllocatedMemoryBytes != 768<<20 {
		t.Errorf("allocated %d CPUs, %d bytes; want 3 and 768 MiB", m.AllocatedCPU, m.AllocatedMemoryBytes)
	}
	if m.CPUCount < 1 || m.CPUPercent == nil || *m.CPUPercent < 0 || *m.CPUPercent > 100 ||
		m.MemoryTotalBytes == 0 || m.MemoryUsedBytes == 0 || m.MemoryUsedBytes > m.MemoryTotalBytes {
		t.Errorf("host metrics %+v", m)
	}
	if len(m.Disks) != 1 || m.Disks[0].TotalBytes == 0 || m.Disks[0].UsedBytes > m.Disks[0].TotalBytes ||
		m.Disks[0].FilesystemType == "" || !strings.HasPrefix(cfg.DataDir, m.Disks[0].MountPoint) {
		t.Errorf("disks %+v, want the data dir's", m.Disks)
	}

	var detail nodeJSON
	c.want(200, "GET", "/nodes/"+n.ID, nil, &detail)
	if detail.ID != n.ID || detail.CachedBuilds == nil || detail.SandboxCount != 2 {
		t.Errorf("node detail %+v", detail)
	}
	for _, tc := range []struct {
		path string
		code int
		says string
	}{
		{"/nodes/no-such-node", 404, "no-such-node"},
		{"/nodes/a/b", 404, "no route"},
	} {
		code, b, _ := c.do("GET", tc.path, nil)
		if code != tc.code || !strings.Contains(string(b), tc.says) {
			t.Errorf("GET %s = %d %s, want %d", tc.path, code, b, tc.code)
		}
	}

	// A team's key is no operator's.
	db, err := sqlite.Open(context.Background(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	teamKey, _, err := auth.Create(context.Background(), db, "team", "team-b", false)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	team := c
	team.key = teamKey
	for _, p := range []string{"/nodes", "/nodes/" + n.ID} {
		code, b, _ := team.do("GET", p, nil)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if code != 403 || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Message, "admin") {
			t.Errorf("GET %s with a team's key = %d %s, want 403", p, code, b)
		}
	}
	noKey := c
	noKey.key = ""
	if code, _, _ := noKey.do("GET", "/nodes", nil); code != 401 {
		t.Errorf("GET /nodes without a key = %d, want 401", code)
	}
}
