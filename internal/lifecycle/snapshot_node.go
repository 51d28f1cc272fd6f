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
	CreateNodeSnapshot(ctx context.Context, sb store.Sandbox, name string, p catalog.NodePack) (catalog.Snapshot, error)
	SnapshotPack(ctx context.Context, ref string) (p catalog.NodePack, ok bool, err error)
}

// NodeSnapshotter is the optional ability of a driver that routes to
// nodes (noderoute) to snapshot a joined node's sandbox into object
// storage and restore such a snapshot on a named node.
type NodeSnapshotter interface {
	UploadSnapshot(ctx context.Context, id string, filesOnly bool) (runtime.PausedBlob, error)
	RestoreSnapshotBlobOn(ctx context.Context, node string, spec runtime.Spec, blob runtime.PausedBlob) (memory bool, err error)
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
	}
	// A paused sandbox is kept with its files only, as on the embedded
	// node.
	memory = memory && sb.State == store.StateRunning
	if err := m.checkSandboxBudget(ctx, sb, "snapshot", memory); err != nil {
		return catalog.Snapshot{}, err
	}
	done := m.transit(sb.ID)
	defer done()
	if m.snapshotBudget > 0 {
		m.snapshotMu.Lock()
		defer m.snapshotMu.Unlock()
		if err := m.checkSnapshotBudget(ctx, snaps, sb.ID, memory); err != nil {
			return catalog.Snapshot{}, err
		}
	}
	actx, cancel := nodeAct(ctx)
	blob, err := sn.UploadSnapshot(actx, sb.ID, !memory)
	if memory && errdefs.IsFailedPrecondition(err) {
		// A checkpoint the node refuses (a sandbox restored before,
		// where its CRIU lacks the patch in scripts/criu) leaves a
		// snapshot of the files only, as on the embedded node.
		m.log.Info("snapshot with files only: the node cannot checkpoint the sandbox", logx.Sandbox(sb.ID), "node", sb.Node, logx.Err(err))
		memory = false
		blob, err = sn.UploadSnapshot(actx, sb.ID, true)
	}
	cancel()
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("snapshot sandbox %q on node %s: %w", sb.ID, sb.Node, err)
	}
	snap, err := ns.CreateNodeSnapshot(ctx, sb, name, catalog.NodePack{Blob: blob, Memory: memory,
		Tokens: catalog.SnapshotTokens{Envd: sb.EnvdAccessToken, Traffic: sb.TrafficAccessToken}})
	if err == nil {
		m.log.Info("snapshot of a joined node's sandbox stored", logx.Sandbox(sb.ID), "node", sb.Node, "snapshot", snap.ID, "blob", blob.Digest, "memory", memory)
	}
	return snap, err
}

// createFromPack creates a sandbox from snapshot p, kept in object
// storage, on joined node (placed with FromObjects): recorded first as
// every create, then made there from p's blob on the layers of
// p.Template, the snapshot's source's. With memory its agent is the
// snapshot's, given its own tokens in place of p.Tokens, and its
// environment the source's, as createFromCheckpoint's; with files only
// it boots and its agent is initialised as a cold create's.
func (m *Manager) createFromPack(ctx context.Context, req CreateRequest, node string, p catalog.NodePack, limits runtime.Limits, token string, timeout time.Duration) (store.Sandbox, error) {
	sn, ok := m.driver.(NodeSnapshotter)
	if !ok || node == "" {
		return store.Sandbox{}, fmt.Errorf("snapshot %q is kept in object storage for joined nodes, and this server has none to restore it on: %w", req.TemplateID, errdefs.ErrUnavailable)
	}
	tok := cloneTokens(p.Tokens)
	if p.Memory {
		if len(req.EnvVars) > 0 {
			return store.Sandbox{}, fmt.Errorf("envVars: a sandbox from snapshot %q has the environment its processes were saved with; create it without envVars: %w", req.TemplateID, errdefs.ErrInvalidArgument)
		}
		if req.Secure && tok.Envd == "" {
			return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox created without secure: true; create it with secure: false, or snapshot a secure sandbox: %w", req.TemplateID, errdefs.ErrInvalidArgument)
		}
		if req.net.trafficToken != "" && tok.Traffic == "" {
			return store.Sandbox{}, fmt.Errorf("snapshot %q was taken of a sandbox with public traffic; create it with public traffic: %w", req.TemplateID, errdefs.ErrInvalidArgument)
		}
	}
	// The source template's layers as every node names them; without
	// them the node stacks those its source was created on, which the
	// blob records.
	var layers []runtime.TemplateLayer
	if nt, ok := m.tmpl.(NodeTemplates); ok && p.Template != catalog.BaseID {
		var err error
		if layers, err = nt.NodeLayers(ctx, p.Template); err != nil && !errdefs.IsFailedPrecondition(err) && !errdefs.IsNotFound(err) {
			return store.Sandbox{}, err
		}
	}
	fresh := cloneTokens{Envd: token, Traffic: req.net.trafficToken}
	if p.Memory {
		fresh = freshTokens(tok, false)
		fresh.Traffic = req.net.trafficToken // new, or none for public traffic
	}
	now := time.Now().UTC()
	sb := store.Sandbox{
		ID: newID(), TemplateID: req.TemplateID, ClientID: req.Team, State: store.StateStarting,
		CPUCount: limits.CPUCount, MemoryMB: limits.MemoryMB, DiskMB: limits.DiskMB,
		Metadata: req.Metadata, EnvdAccessToken: fresh.Envd, CreatedAt: now, EndAt: now.Add(timeout),
		Runtime: m.runtimeName(ctx, node), Network: req.net.cfg, TrafficAccessToken: fresh.Traffic, Lifecycle: req.Lifecycle, Node: node,
	}
	if !p.Memory {
		sb.EnvVars = req.EnvVars
	}
	spec := runtime.Spec{ID: sb.ID, Template: p.Template, Layers: layers, Limits: limits, Network: req.net.policy}
	what := "sandbox " + sb.ID + " from snapshot " + req.TemplateID + " on node " + node
	restore := func() error {
		actx, cancel := nodeAct(ctx)
		defer cancel()
		memory, err := sn.RestoreSnapshotBlobOn(actx, node, spec, p.Blob)
		if err == nil && memory != p.Memory {
			err = fmt.Errorf("node %s made it with memory %v, the snapshot is recorded with memory %v: %w", node, memory, p.Memory, errdefs.ErrFailedPrecondition)
		}
		return err
	}
	var err error
	if p.Memory {
		sb, err = m.restoreInto(ctx, sb, restore, tok, fresh, what,
			"restored on node "+node+" from snapshot "+req.TemplateID+" with its processes and memory")
	} else {
		sb, err = m.bootOnPack(ctx, sb, req, restore, what)
	}
	if err == nil {
		m.log.Info("sandbox created", logx.Sandbox(sb.ID), logx.Template(req.TemplateID), "node", node, "restored", p.Memory)
	}
	return sb, err
}

// bootOnPack records sb, has start create and start it on a snapshot's
// files, initialises its agent as a cold create's, and records it
// running. A failure ends and destroys it, and is returned prefixed
// with what.
func (m *Manager) bootOnPack(ctx context.Context, sb store.Sandbox, req CreateRequest, start func() error, what string) (store.Sandbox, error) {
	if err := m.reserve(ctx, sb); err != nil {
		return store.Sandbox{}, err
	}
	fail := func(err error) (store.Sandbox, error) {
		cleanup := context.WithoutCancel(ctx)
		if derr := m.destroy(cleanup, sb.ID); derr != nil && !errdefs.IsNotFound(derr) {
			m.log.Error("destroy after a failed create", logx.Sandbox(sb.ID), logx.Err(derr))
		}
		if eerr := m.store.EndSandbox(cleanup, sb.ID, store.ReasonError, err.Error(), time.Now()); eerr != nil {
			m.log.Error("record a failed create", logx.Sandbox(sb.ID), logx.Err(eerr))
		}
		return store.Sandbox{}, err
	}
	if err := start(); err != nil {
		return fail(fmt.Errorf("%s: %w", what, err))
	}
	if err := m.initSandbox(ctx, sb.ID, req.TemplateID, req.EnvVars, sb.EnvdAccessToken, sb.TrafficAccessToken); err != nil {
		return fail(fmt.Errorf("%s: %w: %w", what, err, errdefs.ErrUnavailable))
	}
	if err := m.store.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting}, store.StateRunning,
		store.Event{Type: store.EventStarted, Message: "booted on node " + sb.Node + " from the files of snapshot " + req.TemplateID}); err != nil {
		return fail(err)
	}
	m.reapplyPolicy(ctx, sb)
	m.schedule(sb.ID, sb.EndAt)
	return m.store.GetSandbox(ctx, sb.ID)
}
