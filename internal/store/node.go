package store

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// NodeToken is a one-use, expiring token a server admin makes for a host
// to join the control plane as a node. Only its hash is stored; the token
// itself is shown once, when it is made.
type NodeToken struct {
	ID string
	// Hash is the hex SHA-256 of the token's secret.
	Hash      string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working if unused.
	ExpiresAt time.Time
	// UsedAt and UsedBy say when and by which node the token was used;
	// a used token never works again.
	UsedAt *time.Time
	UsedBy string
	// RevokedAt is when an admin revoked the unused token.
	RevokedAt *time.Time
}

// NodeStatus is a node's state in the registry (E2B's NodeStatus values).
type NodeStatus string

// The statuses of a node.
const (
	NodeReady     NodeStatus = "ready"
	NodeDraining  NodeStatus = "draining"
	NodeUnhealthy NodeStatus = "unhealthy"
)

// Valid reports whether s is one of the statuses.
func (s NodeStatus) Valid() bool {
	return s == NodeReady || s == NodeDraining || s == NodeUnhealthy
}

// Who set a node's status.
const (
	// ByAdmin: an admin drained or readied the node through the API.
	ByAdmin = "admin"
	// ByNode: the node itself (a heartbeat, or its shutdown).
	ByNode = "node"
	// ByControlPlane: the control plane (missed heartbeats).
	ByControlPlane = "control-plane"
)

// Node is one host of the control plane's registry: the embedded node of
// a server, or a host that joined with a token.
type Node struct {
	// ID is the node's name, the one its client certificate names.
	ID string
	// Embedded is the node inside the server process; it does not
	// heartbeat, its figures are read in-process.
	Embedded bool
	Status   NodeStatus
	// StatusReason says why the node has its status ("" for ready);
	// StatusBy who set it (ByAdmin, ByNode, ByControlPlane); StatusAt when.
	StatusReason string
	StatusBy     string
	StatusAt     time.Time
	// CertFingerprint is the hex SHA-256 of the client certificate the
	// control plane signed for the node at its join.
	CertFingerprint string
	JoinedAt        time.Time
	// KeyFingerprint is the hex SHA-256 of the public key the node
	// joined with (its certificates' SubjectPublicKeyInfo): its sandbox
	// service is accepted under that key only. "" for a node recorded
	// before keys were pinned, until its next heartbeat records it.
	KeyFingerprint string
	// PreviousCertFingerprint is the certificate the node presented to
	// the renewal that signed CertFingerprint (the one it still holds if
	// that renewal's answer was lost, and may retry with); "" before any
	// renewal.
	PreviousCertFingerprint string
	// HeartbeatAt is the last accepted heartbeat (zero: none yet) and
	// Report what it said.
	HeartbeatAt time.Time
	Report      NodeReport
}

// NodeReport is what a node's heartbeat says of its capacity and use.
type NodeReport struct {
	Version          string   `json:"version,omitempty"`
	CPUCount         int      `json:"cpuCount"`
	CPUPercent       float64  `json:"cpuPercent"`
	MemoryTotalBytes uint64   `json:"memoryTotalBytes"`
	MemoryUsedBytes  uint64   `json:"memoryUsedBytes"`
	DiskTotalBytes   uint64   `json:"diskTotalBytes"`
	DiskUsedBytes    uint64   `json:"diskUsedBytes"`
	Sandboxes        int      `json:"sandboxes"`
	MaxSandboxes     int      `json:"maxSandboxes"`
	AllocatedCPU     int      `json:"allocatedCPU"`
	AllocatedMemory  uint64   `json:"allocatedMemoryBytes"`
	Pooled           []string `json:"pooled,omitempty"`
	// PooledReady is how many sandboxes of each of Pooled are ready
	// (PooledReady[i] of Pooled[i]); empty from a node that does not
	// count them: each counts as one.
	PooledReady []int    `json:"pooledReady,omitempty"`
	Templates   []string `json:"templates,omitempty"`
	// LiveAtReport is how many live sandboxes the store recorded on the
	// node when this report was received (the control plane's count, not
	// the node's): the creates placed on it since are the store's live
	// count now minus this one.
	LiveAtReport int `json:"liveAtReport,omitempty"`
	// ServiceAddress is the host:port of the node's sandbox service;
	// empty: the node runs no sandboxes.
	ServiceAddress string `json:"serviceAddress,omitempty"`
	// ObjectStorage: the node fetches the template layers it lacks from
	// object storage.
	ObjectStorage bool `json:"objectStorage,omitempty"`
}

// Nodes stores the control plane's registry of nodes and their join
// tokens.
type Nodes interface {
	// CreateNodeToken stores a token; a duplicate id or hash is
	// ErrAlreadyExists.
	CreateNodeToken(ctx context.Context, t NodeToken) error
	// ListNodeTokens returns every token by creation time.
	ListNodeTokens(ctx context.Context) ([]NodeToken, error)
	// RevokeNodeToken revokes an unused token at at; a used or revoked
	// one is ErrFailedPrecondition and stays as it was.
	RevokeNodeToken(ctx context.Context, id string, at time.Time) error
	// JoinNode uses the token of hash tokenHash for n at at and stores n
	// (ready), in one transaction: an unknown, used, revoked or expired
	// token is ErrPermissionDenied, a node id already registered
	// ErrAlreadyExists; either way nothing changes.
	JoinNode(ctx context.Context, tokenHash string, n Node, at time.Time) error
	// EnsureNode stores n unless a node of its id exists (which stays as
	// it is).
	EnsureNode(ctx context.Context, n Node) error
	// GetNode returns a node (ErrNotFound).
	GetNode(ctx context.Context, id string) (Node, error)
	// ListNodes returns every node by join time, then id.
	ListNodes(ctx context.Context) ([]Node, error)
	// RecordNodeHeartbeat stores a heartbeat's report at at and returns
	// the node. draining: the node is shutting down and becomes draining
	// (by itself). Otherwise a node that was unhealthy, or draining by
	// its own shutdown, becomes ready; one an admin drained stays so.
	RecordNodeHeartbeat(ctx context.Context, id string, r NodeReport, draining bool, at time.Time) (Node, error)
	// SetNodeStatus moves the node to status to, set by by for reason,
	// if its status is one of from (ErrFailedPrecondition otherwise).
	SetNodeStatus(ctx context.Context, id string, from []NodeStatus, to NodeStatus, by, reason string, at time.Time) error
	// MarkNodeSilent makes the node unhealthy (by the control plane, for
	// reason) at at if its status is one of from and its last heartbeat
	// (its join, if it never heartbeated) is before silentSince: a
	// compare-and-set on both, so a heartbeat recorded after the caller
	// read the node wins. ErrFailedPrecondition otherwise, and nothing
	// changes.
	MarkNodeSilent(ctx context.Context, id string, from []NodeStatus, silentSince time.Time, reason string, at time.Time) error
	// NodeTokenByHash returns the token of hash hash (ErrNotFound),
	// changing nothing.
	NodeTokenByHash(ctx context.Context, hash string) (NodeToken, error)
	// DeleteNode removes a joined node, in one transaction with check,
	// which is given the node as stored and refuses with its error: the
	// name and its certificate's fingerprint are forgotten, and the name
	// may join again. The embedded node is ErrFailedPrecondition.
	DeleteNode(ctx context.Context, id string, check func(Node) error) error
	// NodeUsage sums the live sandboxes (LiveStates) recorded on each
	// node, with team's among them ("" counts none), in one grouped
	// query: a node with none is absent, the embedded node is "".
	NodeUsage(ctx context.Context, team string) ([]NodeUsage, error)
	// SetNodeCertificate records a joined node's certificate and key
	// fingerprints if its certificate fingerprint is still from (a
	// compare-and-set: ErrFailedPrecondition otherwise, and nothing
	// changes; ErrNotFound for an unknown node): a renewed certificate,
	// or the key of a node recorded before keys were pinned. previous
	// is recorded as PreviousCertFingerprint.
	SetNodeCertificate(ctx context.Context, id, from, previous, certFingerprint, keyFingerprint string) error
}

// NodeUsage is what the store records running on one node.
type NodeUsage struct {
	// Node is the node's name, "" for the embedded node.
	Node string
	// Sandboxes counts its live sandboxes; CPUs and MemoryMB sum what
	// they were given; TeamSandboxes counts the asked team's.
	Sandboxes     int
	CPUs          int
	MemoryMB      int64
	TeamSandboxes int
}

// ValidateNodeToken checks a token before it is stored.
func ValidateNodeToken(t NodeToken) error {
	if t.ID == "" || t.Hash == "" || t.ExpiresAt.IsZero() {
		return fmt.Errorf("node token: id, hash and expiry are required: %w", errdefs.ErrInvalidArgument)
	}
	if t.UsedAt != nil || t.RevokedAt != nil || t.UsedBy != "" {
		return fmt.Errorf("node token %q: a new token cannot be used or revoked: %w", t.ID, errdefs.ErrInvalidArgument)
	}
	return validateTexts([2]string{"node token id", t.ID}, [2]string{"node token hash", t.Hash})
}

// ValidateNode checks a node before it is stored.
func ValidateNode(n Node) error {
	if n.ID == "" {
		return fmt.Errorf("node: id is required: %w", errdefs.ErrInvalidArgument)
	}
	if !n.Status.Valid() {
		return fmt.Errorf("node %q: unknown status %q: %w", n.ID, n.Status, errdefs.ErrInvalidArgument)
	}
	return validateTexts([2]string{"node id", n.ID}, [2]string{"node status reason", n.StatusReason},
		[2]string{"node certificate fingerprint", n.CertFingerprint}, [2]string{"node key fingerprint", n.KeyFingerprint})
}

// ValidateNodeStatusChange checks the arguments of SetNodeStatus.
func ValidateNodeStatusChange(id string, from []NodeStatus, to NodeStatus) error {
	if id == "" || len(from) == 0 {
		return fmt.Errorf("node status: id and from are required: %w", errdefs.ErrInvalidArgument)
	}
	for _, s := range append([]NodeStatus{to}, from...) {
		if !s.Valid() {
			return fmt.Errorf("node %q: unknown status %q: %w", id, s, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// ErrUnknownNodeToken is JoinNode's answer to a token it does not know.
var ErrUnknownNodeToken = fmt.Errorf("the join token is not valid (unknown: make one with POST /admin/node-tokens): %w", errdefs.ErrPermissionDenied)

// NodeTokenUsable says why t cannot be used at at, or nil if it can.
func NodeTokenUsable(t NodeToken, at time.Time) error {
	if err := NodeTokenSpent(t); err != nil {
		return fmt.Errorf("%v: %w", err, errdefs.ErrPermissionDenied)
	}
	if !at.Before(t.ExpiresAt) {
		return fmt.Errorf("node token %q expired at %s: %w", t.ID, t.ExpiresAt.Format(time.RFC3339), errdefs.ErrPermissionDenied)
	}
	return nil
}

// NodeTokenSpent says whether t was used or revoked (ErrFailedPrecondition).
func NodeTokenSpent(t NodeToken) error {
	if t.UsedAt != nil {
		return fmt.Errorf("node token %q was already used by node %q: %w", t.ID, t.UsedBy, errdefs.ErrFailedPrecondition)
	}
	if t.RevokedAt != nil {
		return fmt.Errorf("node token %q was revoked: %w", t.ID, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// NodeStatusIn reports whether s is one of ss.
func NodeStatusIn(s NodeStatus, ss []NodeStatus) bool {
	for _, x := range ss {
		if s == x {
			return true
		}
	}
	return false
}

// AfterHeartbeat is n after a heartbeat at at that reported r: see
// Nodes.RecordNodeHeartbeat. Both backends apply it in their transaction.
func AfterHeartbeat(n Node, r NodeReport, draining bool, at time.Time) Node {
	n.HeartbeatAt, n.Report = at, r
	switch {
	case draining:
		if n.Status != NodeDraining {
			n.Status, n.StatusBy, n.StatusReason, n.StatusAt = NodeDraining, ByNode, "the node is shutting down", at
		}
	case n.Status == NodeUnhealthy || (n.Status == NodeDraining && n.StatusBy == ByNode):
		n.Status, n.StatusBy, n.StatusReason, n.StatusAt = NodeReady, ByNode, "", at
	}
	return n
}

// NodeSilent says why MarkNodeSilent leaves n (ErrFailedPrecondition):
// its status is not one of from, or it heartbeated (or joined, if it
// never heartbeated) at or after silentSince. nil if n is silent.
func NodeSilent(n Node, from []NodeStatus, silentSince time.Time) error {
	if !NodeStatusIn(n.Status, from) {
		return fmt.Errorf("node %q is %s: %w", n.ID, n.Status, errdefs.ErrFailedPrecondition)
	}
	last := n.HeartbeatAt
	if last.IsZero() {
		last = n.JoinedAt
	}
	if !last.Before(silentSince) {
		return fmt.Errorf("node %q heartbeated at %s: %w", n.ID, last.UTC().Format(time.RFC3339Nano), errdefs.ErrFailedPrecondition)
	}
	return nil
}

// NodeDeletable says why DeleteNode keeps n: it is an embedded node
// (ErrFailedPrecondition), or check (if any) refuses it.
func NodeDeletable(n Node, check func(Node) error) error {
	if n.Embedded {
		return fmt.Errorf("node %q is a server's own node: it is not deleted, only drained: %w", n.ID, errdefs.ErrFailedPrecondition)
	}
	if check != nil {
		return check(n)
	}
	return nil
}
