package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// A snapshot of a running sandbox on a joined node is kept in object
// storage: its node saves it with its processes, memory and files (held
// still meanwhile, it runs on afterwards, as a fork's source) and
// uploads that as one content-addressed blob, as it uploads a paused
// sandbox's state for a move; the catalog records the blob
// (catalog.CreateNodeSnapshot). A create from it is placed on a joined
// node with object storage, the same or another, which fetches the
// recorded blob, verified, and restores a new sandbox from it, as a
// fork, with its own id and network.

// NodeSnapshots is the optional ability of the template resolver to
// record snapshots kept in object storage (catalog.Catalog).
type NodeSnapshots interface {
	CreateNodeSnapshot(ctx context.Context, sb store.Sandbox, name string, blob runtime.PausedBlob, tokens catalog.SnapshotTokens) (catalog.Snapshot, error)
	SnapshotPack(ctx context.Context, ref string) (blob runtime.PausedBlob, template string, tokens catalog.SnapshotTokens, ok bool, err error)
}

// NodeSnapshotter is the optional ability of a driver that routes to
// nodes (noderoute) to snapshot a joined node's sandbox into object
// storage and restore such a snapshot on a named node.
type NodeSnapshotter interface {
	UploadSnapshot(ctx context.Context, id string) (runtime.PausedBlob, error)
	RestoreSnapshotBlobOn(ctx context.Context, node string, spec runtime.Spec, blob runtime.PausedBlob) error
}

// snapshotOnNode is Snapshot of sb, which runs on a joined node; the
// caller holds its operation lock.
func (m *Manager) snapshotOnNode(ctx context.Context, snaps Snapshots, sb store.Sandbox, name string, memory bool) (catalog.Snapshot, error) {
	ns, ok := m.tmpl.(NodeSnapshots)
	sn, ok2 := m.driver.(NodeSnapshotter)
	switch {
	case !ok || !ok2:
		return catalog.Snapshot{}, fmt.Errorf("sandbox %q runs on node %s, and this server cannot snapshot a joined node's sandboxes: %w", sb.ID, sb.Node, errdefs.ErrFailedPrecondition)
	case m.objects == nil:
		return catalog.Snapshot{}, fmt.Errorf("sandbox %q runs on node %s: a joined node's sandbox is snapshotted into object storage, which this control plane has none of (start it with --s3-endpoint): %w", sb.ID, sb.Node, errdefs.ErrFailedPrecondition)
	case !memory:
		return catalog.Snapshot{}, fmt.Errorf("sandbox %q runs on node %s, whose snapshots keep processes and memory: snapshot it with memory: %w", sb.ID, sb.Node, errdefs.ErrFailedPrecondition)
	case sb.State != store.StateRunning:
		return catalog.Snapshot{}, fmt.Errorf("sandbox %q on node %s is %s: a joined node's sandbox is snapshotted while it runs (resume it first): %w", sb.ID, sb.Node, sb.State, errdefs.ErrFailedPrecondition)
	}
	if err := m.checkSandboxBudget(ctx, sb, "snapshot", true); err != nil {
		return catalog.Snapshot{}, err
	}
	done := m.transit(sb.ID)
	defer done()
	if m.snapshotBudget > 0 {
		m.snapshotMu.Lock()
		defer m.snapshotMu.Unlock()
		if err := m.checkSnapshotBudget(ctx, snaps, sb.ID, true); err != nil {
			return catalog.Snapshot{}, err
		}
	}
	actx, cancel := nodeAct(ctx)
	blob, err := sn.UploadSnapshot(actx, sb.ID)
	cancel()
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("snapshot sandbox %q on node %s: %w", sb.ID, sb.Node, err)
	}
	snap, err := ns.CreateNodeSnapshot(ctx, sb, name, blob, catalog.SnapshotTokens{Envd: sb.EnvdAccessToken, Traffic: sb.TrafficAccessToken})
	if err == nil {
		m.log.Info("snapshot of a joined node's sandbox stored", logx.Sandbox(sb.ID), "node", sb.Node, "snapshot", snap.ID, "blob", blob.Digest)
	}
	return snap, err
}

// createFromPack creates a sandbox from a snapshot kept in object
// storage, on joined node (placed with FromObjects): recorded first as
// every create, then restored there from blob on the layers of
// template, the snapshot's source's, with its agent given its own
// tokens in place of the snapshot's (tokens). As createFromCheckpoint,
// its environment is the source's.
func (m *Manager) createFromPack(ctx context.Context, req CreateRequest, node string, blob runtime.PausedBlob, template string, tokens catalog.SnapshotTokens, limits runtime.Limits, timeout time.Duration) (store.Sandbox, error) {
	sn, ok := m.driver.(NodeSnapshotter)
	if !ok || node == "" {
		return store.Sandbox{}, fmt.Errorf("snapshot %q is kept in object storage for joined nodes, and this server has none to restore it on: %w", req.TemplateID, errdefs.ErrUnavailable)
	}
	if len(req.EnvVars) > 0 {
		return store.Sandbox{}, fmt.Errorf("envVars: a sandbox from snapshot %q has the environment its processes were saved with; create it without envVars: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	tok := cloneTokens(tokens)
	if req.Secure && tok.Envd == "" {
		return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox created without secure: true; create it with secure: false, or snapshot a secure sandbox: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	if req.net.trafficToken != "" && tok.Traffic == "" {
		return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox with public traffic; create it with public traffic: %w", req.TemplateID, errdefs.ErrInvalidArgument)
	}
	// The source template's layers as every node names them; without
	// them the node stacks those its source was created on, which its
	// checkpoint names.
	var layers []runtime.TemplateLayer
	if nt, ok := m.tmpl.(NodeTemplates); ok && template != catalog.BaseID {
		var err error
		if layers, err = nt.NodeLayers(ctx, template); err != nil && !errdefs.IsFailedPrecondition(err) && !errdefs.IsNotFound(err) {
			return store.Sandbox{}, err
		}
	}
	fresh := freshTokens(tok, false)
	fresh.Traffic = req.net.trafficToken
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: newID(), TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateStarting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvdAccessToken: fresh.Envd, CreatedAt: now, EndAt: now.Add(timeout),
		Runtime: m.runtimeName(ctx, node), Network: req.net.cfg, TrafficAccessToken: fresh.Traffic, Lifecycle: req.Lifecycle, Node: node,
	}
	spec := runtime.Spec{ID: sb.ID, Template: template, Layers: layers, Limits: limits, Network: req.net.policy}
	sb, err := m.restoreInto(ctx, sb, func() error {
		actx, cancel := nodeAct(ctx)
		defer cancel()
		return sn.RestoreSnapshotBlobOn(actx, node, spec, blob)
	}, tok, fresh, "sandbox "+sb.ID+" from snapshot "+req.TemplateID+" on node "+node,
		"restored on node "+node+" from snapshot "+req.TemplateID+" with its processes and memory")
	if err == nil {
		m.log.Info("sandbox created", logx.Sandbox(sb.ID), logx.Template(req.TemplateID), "node", node, "restored", true)
	}
	return sb, err
}
