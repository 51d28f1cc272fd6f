// Package scheduler decides where a sandbox is created: on a ready node
// with room for it (CPU, memory, sandbox slots), preferring the nodes
// that have its template pooled (while their pools have a sandbox left
// for it), then its layers present, then those with fewer of the team's
// sandboxes and more room. It is pure: the
// caller passes the nodes as the registry last saw them, and nothing
// here reads or writes anything else.
package scheduler

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// CPUOvercommit is how many sandbox vCPUs one host CPU may carry:
// sandboxes mostly idle, and a CPU limit is a share, not a reservation.
const CPUOvercommit = 4

// Node is one node as the scheduler sees it.
type Node struct {
	ID string
	// Ready: the node takes new sandboxes (not draining or unhealthy).
	Ready bool
	// Status and Reason describe a node that is not ready, for the error.
	Status, Reason string
	// Runs: the control plane can create sandboxes on it (the embedded
	// node, and a joined node that serves its sandbox service).
	Runs bool
	// Embedded is the control plane's own node.
	Embedded bool
	// Unreachable, when set, says why the control plane cannot reach
	// the node's sandbox service (its address refuses, the handshake
	// fails): the node takes nothing until it answers again.
	Unreachable string
	// Unmetered: the node checks its own capacity when it creates (the
	// embedded node, whose admission counts quotas and memory itself);
	// the figures below are not consulted.
	Unmetered bool

	CPUCount         int
	AllocatedCPU     int
	MemoryTotalBytes uint64
	AllocatedMemory  uint64
	Sandboxes        int
	// MaxSandboxes bounds the sandboxes of the node (0: no bound).
	MaxSandboxes int
	// Pooled are the templates with warm sandboxes ready; Layers the
	// template layers on its disk.
	Pooled []string
	Layers []string
	// PooledReady, when as long as Pooled, says how many sandboxes of
	// each are ready (PooledReady[i] of Pooled[i]); otherwise each
	// pooled template counts as one ready (a report from a node that
	// does not send the counts).
	PooledReady []int
	// PlacedSinceReport counts the creates placed on the node since the
	// report Pooled comes from: the first PooledReady of them take a
	// warm sandbox, the rest go cold, so the pooled preference holds
	// only while ready > placed.
	PlacedSinceReport int
	// ObjectStorage: the node fetches the layers it lacks from object
	// storage.
	ObjectStorage bool
	// TeamSandboxes counts each team's sandboxes on the node.
	TeamSandboxes map[string]int
}

// Request is the sandbox to place.
type Request struct {
	Template string
	// Layers are the template's layers: the nodes holding them are
	// preferred, and a joined node must hold them all or fetch them from
	// object storage (the embedded node resolves its templates itself).
	Layers      []string
	CPU         int
	MemoryBytes uint64
	Team        string
	// EmbeddedOnly: only the embedded node can make this sandbox (a fork,
	// a snapshot restored with its memory, a template whose layers no
	// other node can fetch).
	EmbeddedOnly bool
	// EmbeddedOnlyWhy says why, when it is a template no other node can
	// start (its layers are not in object storage): named in the
	// refusal when the embedded node cannot take it either.
	EmbeddedOnlyWhy string
	// Build: a template build, which only a joined node with object
	// storage takes (its layers must reach the bucket for every node;
	// a server with an embedded node builds there itself).
	Build bool
	// Exclude are nodes not to choose: one a create was sent to and
	// did not reach, which it now places again.
	Exclude []string
	// MoveFrom, set for a paused sandbox resumed away from the node it
	// was paused on (which cannot take it), names that node: it goes to
	// another joined node with object storage, which fetches its paused
	// state from there.
	MoveFrom string
	// FromObjects: a sandbox restored from a snapshot kept in object
	// storage (taken on a joined node), which only a joined node with
	// object storage fetches.
	FromObjects bool
}

// Decision is where a sandbox goes.
type Decision struct {
	NodeID string
	Score  float64
}

// Weights of the preferences, in the order they rank.
const (
	weightPooled = 1000
	weightLayers = 100
	weightTeam   = 10 // per sandbox of the team already there, subtracted
	weightRoom   = 5
)

// Choose places req on one of nodes, or says why none fits
// (ErrUnavailable, one reason per node).
func Choose(nodes []Node, req Request) (Decision, error) {
	best, bestScore := -1, 0.0
	for i := range nodes {
		n := &nodes[i]
		if !fits(n, req) {
			continue
		}
		s := score(n, req)
		if best < 0 || s > bestScore || (s == bestScore && n.ID < nodes[best].ID) {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		if len(nodes) == 0 {
			return Decision{}, fmt.Errorf("no node is ready: none is registered: %w", errdefs.ErrUnavailable)
		}
		// The reasons are written only for a refusal: a decision among
		// many nodes formats nothing.
		reasons := make([]string, 0, len(nodes))
		for i := range nodes {
			reasons = append(reasons, "node "+nodes[i].ID+" "+unfit(&nodes[i], req))
		}
		sort.Strings(reasons)
		what := "sandbox"
		if req.Build {
			what = "build"
		}
		return Decision{}, fmt.Errorf("no node is ready for this %s: %s: %w", what, strings.Join(reasons, "; "), errdefs.ErrUnavailable)
	}
	return Decision{NodeID: nodes[best].ID, Score: bestScore}, nil
}

// fits is unfit's verdict without the words.
func fits(n *Node, req Request) bool {
	switch {
	case !n.Ready || !n.Runs || n.Unreachable != "" || (req.EmbeddedOnly && !n.Embedded) || slices.Contains(req.Exclude, n.ID):
		return false
	case !n.Embedded && !n.ObjectStorage && !holdsAll(n, req.Layers):
		return false
	case req.Build && (n.Embedded || !n.ObjectStorage):
		return false
	case req.MoveFrom != "" && (n.Embedded || !n.ObjectStorage || n.ID == req.MoveFrom):
		return false
	case req.FromObjects && (n.Embedded || !n.ObjectStorage):
		return false
	case n.Unmetered:
		return true
	}
	return (n.MaxSandboxes == 0 || n.Sandboxes < n.MaxSandboxes) && n.AllocatedCPU+req.CPU <= n.CPUCount*CPUOvercommit &&
		n.AllocatedMemory+req.MemoryBytes <= n.MemoryTotalBytes
}

// unfit says why n cannot take req ("" if it can).
func unfit(n *Node, req Request) string {
	switch {
	case !n.Ready:
		if n.Reason != "" {
			return "is " + n.Status + " (" + n.Reason + ")"
		}
		return "is " + n.Status
	case !n.Runs:
		return "does not run sandboxes (it was started without --listen)"
	case n.Unreachable != "":
		return "cannot be reached: " + n.Unreachable
	case slices.Contains(req.Exclude, n.ID):
		return "was not reached by this create"
	case req.EmbeddedOnly && !n.Embedded && req.EmbeddedOnlyWhy != "":
		return "is not the embedded node, the only one that can start it: " + req.EmbeddedOnlyWhy
	case req.EmbeddedOnly && !n.Embedded:
		return "is not the embedded node, the only one that makes forks, restores snapshots with memory and starts templates whose layers are not in object storage"
	case !n.Embedded && !n.ObjectStorage && !holdsAll(n, req.Layers):
		return "lacks this template's layers and has no object storage to fetch them from (start it with --s3-endpoint)"
	case req.Build && n.Embedded:
		return "is the embedded node, which builds only through its own server"
	case req.Build && !n.ObjectStorage:
		return "has no object storage to upload a build's layers to (start it with --s3-endpoint)"
	case req.MoveFrom != "" && n.ID == req.MoveFrom:
		return "is the node the sandbox was paused on, which cannot take it"
	case req.MoveFrom != "" && n.Embedded:
		return "is the embedded node, which does not take sandboxes paused on joined nodes"
	case req.MoveFrom != "" && !n.ObjectStorage:
		return "has no object storage to fetch the paused sandbox from (start it with --s3-endpoint)"
	case req.FromObjects && n.Embedded:
		return "is the embedded node, which does not restore snapshots taken on joined nodes"
	case req.FromObjects && !n.ObjectStorage:
		return "has no object storage to fetch the snapshot from (start it with --s3-endpoint)"
	case n.Unmetered:
		return ""
	case n.MaxSandboxes > 0 && n.Sandboxes >= n.MaxSandboxes:
		return fmt.Sprintf("has all its %d sandbox slots taken", n.MaxSandboxes)
	case n.AllocatedCPU+req.CPU > n.CPUCount*CPUOvercommit:
		return fmt.Sprintf("has %d of %d vCPUs free, the sandbox needs %d", max(0, n.CPUCount*CPUOvercommit-n.AllocatedCPU), n.CPUCount*CPUOvercommit, req.CPU)
	case n.AllocatedMemory+req.MemoryBytes > n.MemoryTotalBytes:
		return fmt.Sprintf("has %d MiB of %d MiB memory free, the sandbox needs %d MiB",
			(n.MemoryTotalBytes-min(n.AllocatedMemory, n.MemoryTotalBytes))>>20, n.MemoryTotalBytes>>20, req.MemoryBytes>>20)
	}
	return ""
}

func score(n *Node, req Request) float64 {
	var s float64
	if req.Template != "" && pooledLeft(n, req.Template) {
		s += weightPooled
	}
	if len(req.Layers) > 0 {
		have := 0
		for _, l := range req.Layers {
			if contains(n.Layers, l) {
				have++
			}
		}
		s += weightLayers * float64(have) / float64(len(req.Layers))
	}
	s -= weightTeam * float64(n.TeamSandboxes[req.Team])
	if !n.Unmetered {
		s += weightRoom * (free(n.CPUCount*CPUOvercommit, n.AllocatedCPU+req.CPU) + freeBytes(n.MemoryTotalBytes, n.AllocatedMemory+req.MemoryBytes)) / 2
	}
	return s
}

// free is the share of total left after used, 0 to 1.
func free(total, used int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(total-min(used, total)) / float64(total)
}

func freeBytes(total, used uint64) float64 {
	if total == 0 {
		return 0
	}
	return float64(total-min(used, total)) / float64(total)
}

// pooledLeft is whether n's pool still has a sandbox of template for
// this create: ready, by the report, more than the creates placed since.
func pooledLeft(n *Node, template string) bool {
	for i, t := range n.Pooled {
		if t != template {
			continue
		}
		ready := 1
		if len(n.PooledReady) == len(n.Pooled) {
			ready = n.PooledReady[i]
		}
		return ready > n.PlacedSinceReport
	}
	return false
}

// holdsAll is whether n holds every one of layers.
func holdsAll(n *Node, layers []string) bool {
	for _, l := range layers {
		if !contains(n.Layers, l) {
			return false
		}
	}
	return true
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
