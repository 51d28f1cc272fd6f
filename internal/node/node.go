// Package node describes the hosts that run sandboxes as the control
// plane reports them (E2B's GET /nodes): their status, capacity, use and
// sandbox counts. Today a server is one node, described by Local; a
// control plane with many nodes implements Lister from its registry.
package node

import "context"

// Status is a node's state, E2B's NodeStatus values.
type Status string

// The statuses a node may report.
const (
	StatusReady     Status = "ready"
	StatusDraining  Status = "draining"
	StatusUnhealthy Status = "unhealthy"
)

// Disk is the use of one filesystem of a node.
type Disk struct {
	MountPoint string
	Device     string
	FSType     string
	UsedBytes  uint64
	TotalBytes uint64
}

// Machine is what a node runs on.
type Machine struct {
	CPUFamily    string
	CPUModel     string
	CPUModelName string
	Arch         string
}

// Info is one node as the control plane sees it now.
type Info struct {
	ID                string
	ServiceInstanceID string
	ClusterID         string
	Status            Status
	Version           string
	Commit            string
	Machine           Machine

	// StatusReason says why a node is not ready (a SoulBox addition to
	// E2B's shape): no heartbeat, drained by an admin, its sandbox
	// service not answering.
	StatusReason string

	// SandboxCount counts its running sandboxes, as E2B's: a paused
	// sandbox runs nowhere (its checkpoint is on disk) and is not
	// counted; SandboxStarting counts those being created.
	SandboxCount    int
	SandboxStarting int
	// AllocatedCPU and AllocatedMemoryBytes sum what its live sandboxes
	// were given.
	AllocatedCPU         int
	AllocatedMemoryBytes uint64
	// CPUPercent is the host's CPU use, 0 to 100, since the previous
	// reading (since boot for the first).
	CPUPercent       float64
	CPUCount         int
	MemoryUsedBytes  uint64
	MemoryTotalBytes uint64
	Disks            []Disk

	// CreateSuccesses and CreateFails count the creates since the
	// server started.
	CreateSuccesses uint64
	CreateFails     uint64
}

// Lister lists the nodes of a control plane.
type Lister interface {
	Nodes(ctx context.Context) ([]Info, error)
}

// MaxReportedTemplates is the most template names a heartbeat reports
// (layers held and templates pooled together): a control plane refuses a
// longer list as impossible, so a node holding more reports those it
// used last.
const MaxReportedTemplates = 10000
