package api

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
)

// diskJSON is E2B's DiskMetrics.
type diskJSON struct {
	MountPoint     string `json:"mountPoint"`
	Device         string `json:"device"`
	FilesystemType string `json:"filesystemType"`
	UsedBytes      uint64 `json:"usedBytes"`
	TotalBytes     uint64 `json:"totalBytes"`
}

// nodeMetricsJSON is E2B's NodeMetrics.
type nodeMetricsJSON struct {
	AllocatedCPU         int        `json:"allocatedCPU"`
	AllocatedMemoryBytes uint64     `json:"allocatedMemoryBytes"`
	CPUPercent           int        `json:"cpuPercent"`
	MemoryUsedBytes      uint64     `json:"memoryUsedBytes"`
	CPUCount             int        `json:"cpuCount"`
	MemoryTotalBytes     uint64     `json:"memoryTotalBytes"`
	Disks                []diskJSON `json:"disks"`
}

// machineJSON is E2B's MachineInfo.
type machineJSON struct {
	CPUFamily       string `json:"cpuFamily"`
	CPUModel        string `json:"cpuModel"`
	CPUModelName    string `json:"cpuModelName"`
	CPUArchitecture string `json:"cpuArchitecture"`
}

// nodeJSON is E2B's Node; nodeDetailJSON its NodeDetail.
type nodeJSON struct {
	ID                   string          `json:"id"`
	ServiceInstanceID    string          `json:"serviceInstanceID"`
	ClusterID            string          `json:"clusterID"`
	Status               node.Status     `json:"status"`
	SandboxCount         int             `json:"sandboxCount"`
	Metrics              nodeMetricsJSON `json:"metrics"`
	CreateSuccesses      uint64          `json:"createSuccesses"`
	CreateFails          uint64          `json:"createFails"`
	SandboxStartingCount int             `json:"sandboxStartingCount"`
	Version              string          `json:"version"`
	Commit               string          `json:"commit"`
	MachineInfo          machineJSON     `json:"machineInfo"`

	// StatusReason is SoulBox's: why the node is not ready.
	StatusReason string `json:"statusReason,omitempty"`
}

type nodeDetailJSON struct {
	ID                string          `json:"id"`
	ServiceInstanceID string          `json:"serviceInstanceID"`
	ClusterID         string          `json:"clusterID"`
	Status            node.Status     `json:"status"`
	SandboxCount      int             `json:"sandboxCount"`
	Metrics           nodeMetricsJSON `json:"metrics"`
	CachedBuilds      []string        `json:"cachedBuilds"`
	CreateSuccesses   uint64          `json:"createSuccesses"`
	CreateFails       uint64          `json:"createFails"`
	Version           string          `json:"version"`
	Commit            string          `json:"commit"`
	MachineInfo       machineJSON     `json:"machineInfo"`

	// StatusReason is SoulBox's: why the node is not ready.
	StatusReason string `json:"statusReason,omitempty"`
}

func toNode(n node.Info) nodeJSON {
	m := nodeMetricsJSON{AllocatedCPU: n.AllocatedCPU, AllocatedMemoryBytes: n.AllocatedMemoryBytes, CPUPercent: int(n.CPUPercent + 0.5),
		MemoryUsedBytes: n.MemoryUsedBytes, CPUCount: n.CPUCount, MemoryTotalBytes: n.MemoryTotalBytes, Disks: []diskJSON{}}
	for _, d := range n.Disks {
		m.Disks = append(m.Disks, diskJSON{MountPoint: d.MountPoint, Device: d.Device, FilesystemType: d.FSType, UsedBytes: d.UsedBytes, TotalBytes: d.TotalBytes})
	}
	return nodeJSON{ID: n.ID, ServiceInstanceID: n.ServiceInstanceID, ClusterID: n.ClusterID, Status: n.Status,
		SandboxCount: n.SandboxCount, Metrics: m, CreateSuccesses: n.CreateSuccesses, CreateFails: n.CreateFails,
		SandboxStartingCount: n.SandboxStarting, Version: n.Version, Commit: n.Commit,
		MachineInfo:  machineJSON{CPUFamily: n.Machine.CPUFamily, CPUModel: n.Machine.CPUModel, CPUModelName: n.Machine.CPUModelName, CPUArchitecture: n.Machine.Arch},
		StatusReason: n.StatusReason}
}

// adminNodes checks that the API has nodes to report and the caller's
// key is an admin's, as E2B's admin-only node routes.
func (a *API) adminNodes(r *http.Request) error {
	if a.nodes == nil {
		return fmt.Errorf("this server reports no nodes: %w", errdefs.ErrUnavailable)
	}
	if a.admin == nil || !a.admin(r) {
		return fmt.Errorf("the nodes are an operator's: use an admin API key: %w", errdefs.ErrPermissionDenied)
	}
	return nil
}

// listNodes is GET /nodes, E2B's: every node of the control plane (this
// server's one host today).
func (a *API) listNodes(w http.ResponseWriter, r *http.Request) {
	if err := a.adminNodes(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	ns, err := a.nodes.Nodes(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]nodeJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, toNode(n))
	}
	writeJSON(w, http.StatusOK, out)
}

// getNode is GET /nodes/{nodeID}, E2B's NodeDetail. SoulBox has no build
// cache per node: cachedBuilds is empty.
func (a *API) getNode(w http.ResponseWriter, r *http.Request) {
	if err := a.adminNodes(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	ns, err := a.nodes.Nodes(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id := r.PathValue("nodeID")
	for _, n := range ns {
		if n.ID != id {
			continue
		}
		j := toNode(n)
		writeJSON(w, http.StatusOK, nodeDetailJSON{ID: j.ID, ServiceInstanceID: j.ServiceInstanceID, ClusterID: j.ClusterID, Status: j.Status,
			SandboxCount: j.SandboxCount, Metrics: j.Metrics, CachedBuilds: []string{}, CreateSuccesses: j.CreateSuccesses,
			CreateFails: j.CreateFails, Version: j.Version, Commit: j.Commit, MachineInfo: j.MachineInfo, StatusReason: j.StatusReason})
		return
	}
	a.writeError(w, r, fmt.Errorf("node %q: GET /nodes lists the nodes: %w", id, errdefs.ErrNotFound))
}
