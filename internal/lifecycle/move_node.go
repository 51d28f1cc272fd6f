package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// A joined node's paused sandbox resumes on another node when its own
// cannot take it (deleted, unhealthy, draining, unreachable) and its
// paused state is in object storage: at its pause the node uploaded its
// writable layer, and its checkpoint if paused with its memory, as one
// blob (startUpload, the embedded node's checkpoint upload, whose
// record it shares). The resume places it on another ready joined node
// with object storage, which fetches that blob, verified against the
// control plane's record, and makes the sandbox under the same id with
// its own network (a new address, as a fork's); the store records the
// new node only once that succeeded.

// NodeMover is the optional ability of a driver that routes to nodes
// (noderoute) to move a paused sandbox between joined nodes.
type NodeMover interface {
	// UploadPaused has the node of paused sandbox id upload what a
	// resume elsewhere needs (runtime.PausedMover).
	UploadPaused(ctx context.Context, id string) (runtime.PausedBlob, error)
	// RestoreFromBlobOn makes spec's sandbox on node from blob, whatever
	// node the store records it on.
	RestoreFromBlobOn(ctx context.Context, node string, spec runtime.Spec, blob runtime.PausedBlob) (memory bool, err error)
	// DestroyOn destroys sandbox id on node.
	DestroyOn(ctx context.Context, node, id string) error
	// Moved sends sandbox id's calls to node from now on.
	Moved(id, node string)
}

// NodeCheck says whether a joined node can take back a sandbox paused on
// it: nil if it can, else why not.
type NodeCheck func(ctx context.Context, node string) error

// UseNodeCheck sets the check of a paused sandbox's node at its resume;
// call it before Start. Without one, only a node that does not answer
// is taken as unable.
func (m *Manager) UseNodeCheck(c NodeCheck) { m.nodeCheck = c }

// movable is whether this manager uploads joined nodes' paused sandboxes
// for a resume elsewhere.
func (m *Manager) movable() bool {
	_, ok := m.driver.(NodeMover)
	return ok && m.objects != nil
}

// nodeCannotTake says why paused sandbox sb's node cannot resume it
// (why nil: it can): the registry's view of it, then its own answer,
// which must say it is not there or does not answer. answers is whether
// the node has the sandbox and answers (a draining one does); any other
// error of that answer is err, and nothing should change.
func (m *Manager) nodeCannotTake(ctx context.Context, sb store.Sandbox) (why error, answers bool, err error) {
	_, err = m.driver.Info(ctx, sb.ID)
	if errors.Is(err, errdefs.ErrUnavailable) || errdefs.IsNotFound(err) {
		return err, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if m.nodeCheck != nil {
		why = m.nodeCheck(ctx, sb.Node)
	}
	return why, true, nil
}

// leftBehindFor is how long removeLeftBehind tries, every
// leftBehindEvery; a node down longer is settled by the node lease
// keeper when it comes back.
const (
	leftBehindFor   = 2 * time.Minute
	leftBehindEvery = 5 * time.Second
)

// removeLeftBehind destroys sandbox id on node, which it moved away
// from, trying until the node answers or leftBehindFor has passed.
func (m *Manager) removeLeftBehind(ctx context.Context, mv NodeMover, node, id string) {
	deadline := time.Now().Add(leftBehindFor)
	for {
		dctx, cancel := context.WithTimeout(ctx, moveTimeout)
		err := mv.DestroyOn(dctx, node, id)
		cancel()
		if err == nil || errdefs.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			m.log.Info("the node a sandbox moved away from does not answer; it removes the sandbox when it comes back", logx.Sandbox(id), "node", node, logx.Err(err))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(leftBehindEvery):
		}
	}
}

// moveTimeout bounds the removal of a moved sandbox from the node it
// left, in the background (a node that is down answers nothing; its
// sandboxes not recorded on it are destroyed when it comes back).
const moveTimeout = 30 * time.Second

// moveAway resumes paused sandbox sb, whose node cannot take it (why),
// on another node, under its operation lock: recorded resuming, made on
// the chosen node from the recorded blob, recorded there, then running.
// When it cannot be moved (no object storage, its paused state never
// uploaded, no other node) and its node answers (answers: a draining
// one), moved is false and the caller resumes it there. Otherwise what
// cannot be had is an error and the sandbox stays paused on its node,
// with an event saying why when it got as far as resuming.
func (m *Manager) moveAway(ctx context.Context, sb store.Sandbox, why error, answers bool) (moved bool, err error) {
	id := sb.ID
	mv, ok := m.driver.(NodeMover)
	if !ok || m.objects == nil || m.placer == nil {
		if answers {
			return false, nil
		}
		return false, fmt.Errorf("sandbox %q was paused on node %s, which cannot take it (%v), and this control plane has no object storage to move it to another node: it stays paused: %w", id, sb.Node, why, errdefs.ErrUnavailable)
	}
	rec, err := m.store.CheckpointObject(ctx, id)
	if errdefs.IsNotFound(err) {
		if answers {
			return false, nil
		}
		return false, fmt.Errorf("sandbox %q was paused on node %s, which cannot take it (%v), and its paused state never reached object storage (its upload did not complete), so no other node can resume it: it stays paused: %w", id, sb.Node, why, errdefs.ErrUnavailable)
	}
	if err != nil {
		return false, err
	}
	policy, err := PolicyOf(sb.Network)
	if err != nil {
		return false, err
	}
	layers := m.moveLayers(ctx, sb)
	node, err := m.placer(ctx, CreateRequest{TemplateID: sb.TemplateID, CPUCount: sb.CPUCount, MemoryMB: sb.MemoryMB,
		Team: sb.ClientID, MoveFrom: sb.Node, TemplateLayers: layers})
	if err != nil {
		if answers {
			return false, nil
		}
		return false, fmt.Errorf("sandbox %q was paused on node %s, which cannot take it (%v), and no other node can: it stays paused: %w", id, sb.Node, why, err)
	}
	msg := fmt.Sprintf("moved from node %s, which cannot take it (%v), to node %s", sb.Node, why, node)
	if err := m.store.SetState(ctx, id, []store.SandboxState{store.StatePaused}, store.StateResuming,
		store.Event{Type: store.EventResuming, Message: msg}); err != nil {
		return false, err
	}
	fail := func(err error) error {
		// The node cleans up after a refusal; a call cut short may
		// have left the sandbox there, which nothing records.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moveTimeout)
		defer cancel()
		if derr := mv.DestroyOn(dctx, node, id); derr != nil && !errdefs.IsNotFound(derr) {
			m.log.Warn("remove a sandbox whose move failed from the node it was moving to", logx.Sandbox(id), "node", node, logx.Err(derr))
		}
		m.undo(ctx, id, store.StateResuming, store.StatePaused, store.EventPaused,
			fmt.Sprintf("the move to node %s failed (it stays paused on node %s): %v", node, sb.Node, err))
		return fmt.Errorf("resume sandbox %q on node %s (node %s cannot take it: %v); it stays paused: %w", id, node, sb.Node, why, err)
	}
	limits := runtime.Limits{CPUCount: sb.CPUCount, MemoryMB: sb.MemoryMB, DiskMB: sb.DiskMB}.WithDefaults()
	spec := runtime.Spec{ID: id, Template: sb.TemplateID, Limits: limits, Network: policy, Layers: layers}
	actx, cancel := nodeAct(ctx)
	memory, err := mv.RestoreFromBlobOn(actx, node, spec, runtime.PausedBlob{Digest: rec.Digest, Size: rec.Size})
	cancel()
	if err != nil {
		return false, fail(restoreRefused(ctx, err))
	}
	if err := m.store.MoveSandbox(context.WithoutCancel(ctx), id, sb.Node, node,
		store.Event{Type: store.EventResuming, Message: "runs on node " + node + " now"}); err != nil {
		return false, fail(err)
	}
	mv.Moved(id, node)
	from := sb.Node
	sb.Node = node
	// What it left on its old node, once that answers (one back within
	// its heartbeat timeout is not settled by the node lease keeper).
	m.objWork.goObjects(func(wctx context.Context) { m.removeLeftBehind(wctx, mv, from, id) })
	if !memory {
		if err := m.initBooted(ctx, sb); err != nil {
			m.undo(ctx, id, store.StateResuming, store.StatePaused, store.EventPaused, "resume failed: "+err.Error())
			return true, fmt.Errorf("resume sandbox %q on node %s: %w", id, node, err)
		}
	}
	note := msg + ", with its memory"
	if !memory {
		note = msg + ", booted again from its files"
	}
	if err := m.store.SetState(context.WithoutCancel(ctx), id, []store.SandboxState{store.StateResuming}, store.StateRunning,
		store.Event{Type: store.EventResumed, Message: note}); err != nil {
		return true, fmt.Errorf("record the resume of sandbox %q: %w", id, err)
	}
	m.dropCheckpointObject(context.WithoutCancel(ctx), id)
	m.log.Info("paused sandbox moved to another node", logx.Sandbox(id), "from", from, "to", node, "memory", memory)
	return true, nil
}

// restoreRefused is the error of the node a sandbox was moving to, as
// the resume's caller gets it: nothing it could fix. A blob gone from
// the bucket (not found) or one refused as corrupted or unsafe (failed
// precondition, invalid argument) would tell a client that its sandbox
// is gone, or that it asked wrongly; the sandbox stays paused and no
// node can take it now, so it is unavailable. A node full (resource
// exhausted) and the caller's own cancellation keep their class.
func restoreRefused(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, errdefs.ErrUnavailable) || errors.Is(err, errdefs.ErrResourceExhausted) {
		return err
	}
	return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
}

// moveLayers are the layers of sandbox sb's template as this control
// plane records them, with the archive of each in object storage: the
// node a sandbox moves to fetches a layer it lacks only as an archive
// named so, never as one the moved pack (made by the old node) names.
// None when the template has none to name (the base template, one
// whose layers are not in object storage): the new node must then hold
// what the pack stacks on.
func (m *Manager) moveLayers(ctx context.Context, sb store.Sandbox) []runtime.TemplateLayer {
	nt, ok := m.tmpl.(NodeTemplates)
	if !ok || sb.TemplateID == catalog.BaseID {
		return nil
	}
	layers, err := nt.NodeLayers(ctx, sb.TemplateID)
	if err != nil {
		m.log.Info("the layers of a moving sandbox's template cannot be named to another node", logx.Sandbox(sb.ID), logx.Err(err))
		return nil
	}
	return layers
}
