// Package noderoute is the control plane's driver of every node: each
// call on a sandbox goes to the driver of the node the store records it
// on, the embedded node's in-process driver (no hop) or a joined node's
// remote driver. A sandbox's node is looked up in the store once and
// remembered; it changes only when a control plane moves a paused
// sandbox to another node: this one tells the router (Moved), another
// replica's router reads the store again when a call finds the sandbox
// gone from the node it remembers or that node not answering.
package noderoute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Embedded is the embedded node's driver, with every ability the
// router passes on (the OCI driver, timed, has them all).
type Embedded interface {
	runtime.Driver
	runtime.Dialer
	runtime.Checkpointer
	runtime.Recreator
	runtime.Updater
	runtime.NetworkPolicer
	runtime.NetworkRepairer
	runtime.Prioritizer
	runtime.UserKiller
	runtime.LogReader
	runtime.WritableLayerReader
	runtime.Cloner
	runtime.ProcessCloner
}

// Remote is what a joined node's driver must be.
type Remote interface {
	runtime.Driver
	runtime.Dialer
}

// NodeOf says which node a sandbox is recorded on: "" for the embedded
// node, and for an id the store does not know (a warm pool's sandbox
// not yet claimed, which is always the embedded node's).
type NodeOf func(ctx context.Context, id string) (string, error)

// RemoteOf returns the driver of a joined node.
type RemoteOf func(ctx context.Context, node string) (Remote, error)

// Router routes driver calls by sandbox.
type Router struct {
	local    Embedded
	nodeOf   NodeOf
	remoteOf RemoteOf
	nodes    sync.Map // sandbox id -> node name, once known from the store
}

var _ Embedded = (*Router)(nil)

// New routes between local and the joined nodes' drivers.
func New(local Embedded, nodeOf NodeOf, remoteOf RemoteOf) *Router {
	return &Router{local: local, nodeOf: nodeOf, remoteOf: remoteOf}
}

// Local is the embedded node's driver.
func (r *Router) Local() Embedded { return r.local }

// node is the node of sandbox id: "" for the embedded node.
func (r *Router) node(ctx context.Context, id string) (string, error) {
	if n, ok := r.nodes.Load(id); ok {
		return n.(string), nil
	}
	n, err := r.nodeOf(ctx, id)
	if errdefs.IsNotFound(err) {
		return "", nil // not recorded (yet): not remembered either
	}
	if err != nil {
		return "", err
	}
	r.nodes.Store(id, n)
	return n, nil
}

// remote is the driver of sandbox id's joined node, nil for the
// embedded node.
func (r *Router) remote(ctx context.Context, id string) (Remote, string, error) {
	n, err := r.node(ctx, id)
	if err != nil || n == "" {
		return nil, "", err
	}
	d, err := r.remoteOf(ctx, n)
	if err != nil {
		return nil, n, fmt.Errorf("sandbox %q runs on node %s: %w", id, n, err)
	}
	return d, n, nil
}

// cannot is the error of an ability a joined node does not serve.
func cannot(id, node, what string) error {
	return fmt.Errorf("sandbox %q runs on node %s, which cannot %s for the control plane yet: %w", id, node, what, errdefs.ErrFailedPrecondition)
}

// Name implements runtime.Driver: the embedded node's driver's name.
func (r *Router) Name() string { return r.local.Name() }

// NameOn is the name of joined node's driver ("remote/<node>" while it
// does not answer).
func (r *Router) NameOn(ctx context.Context, node string) string {
	d, err := r.remoteOf(ctx, node)
	if err != nil {
		return "remote/" + node
	}
	return d.Name()
}

// Create implements runtime.Driver.
func (r *Router) Create(ctx context.Context, spec runtime.Spec) (runtime.Info, error) {
	d, _, err := r.remote(ctx, spec.ID)
	if err != nil {
		return runtime.Info{}, err
	}
	if d == nil {
		return r.local.Create(ctx, spec)
	}
	return d.Create(ctx, spec)
}

// byID runs a call that names a sandbox on its node's driver.
func (r *Router) byID(ctx context.Context, id string, local func(runtime.Driver) error, remote func(Remote) error) error {
	return r.routed(ctx, id, func(d Remote, _ string) error {
		if d == nil {
			return local(r.local)
		}
		return remote(d)
	})
}

// routed runs call with sandbox id's node's driver (nil and "" for the
// embedded node). A call to a joined node that finds the sandbox gone,
// or the node not answering, reads the sandbox's node from the store
// again: the sandbox may have moved (a paused sandbox resumed on
// another node, by another control-plane replica); if it did, the call
// is made once more there.
func (r *Router) routed(ctx context.Context, id string, call func(d Remote, node string) error) error {
	d, n, err := r.remote(ctx, id)
	if err == nil {
		err = call(d, n)
	}
	if n == "" || (!errdefs.IsNotFound(err) && !errors.Is(err, errdefs.ErrUnavailable)) {
		return err
	}
	now, rerr := r.nodeOf(ctx, id)
	if rerr != nil || now == n {
		return err
	}
	r.nodes.Store(id, now)
	if d, n, err = r.remote(ctx, id); err != nil {
		return err
	}
	return call(d, n)
}

func (r *Router) on(ctx context.Context, id string, call func(runtime.Driver) error) error {
	return r.byID(ctx, id, call, func(d Remote) error { return call(d) })
}

// Start implements runtime.Driver.
func (r *Router) Start(ctx context.Context, id string) error {
	return r.on(ctx, id, func(d runtime.Driver) error { return d.Start(ctx, id) })
}

// Exec implements runtime.Driver.
func (r *Router) Exec(ctx context.Context, id string, req runtime.ExecRequest) (res runtime.ExecResult, err error) {
	err = r.on(ctx, id, func(d runtime.Driver) (e error) { res, e = d.Exec(ctx, id, req); return e })
	return res, err
}

// Pause implements runtime.Driver.
func (r *Router) Pause(ctx context.Context, id string) error {
	return r.on(ctx, id, func(d runtime.Driver) error { return d.Pause(ctx, id) })
}

// Resume implements runtime.Driver.
func (r *Router) Resume(ctx context.Context, id string) error {
	return r.on(ctx, id, func(d runtime.Driver) error { return d.Resume(ctx, id) })
}

// Stop implements runtime.Driver.
func (r *Router) Stop(ctx context.Context, id string) error {
	return r.on(ctx, id, func(d runtime.Driver) error { return d.Stop(ctx, id) })
}

// Destroy implements runtime.Driver; a destroyed sandbox's node is
// forgotten (a later call reads it from the store again).
func (r *Router) Destroy(ctx context.Context, id string) error {
	err := r.on(ctx, id, func(d runtime.Driver) error { return d.Destroy(ctx, id) })
	if err == nil {
		r.nodes.Delete(id)
	}
	return err
}

// Stats implements runtime.Driver.
func (r *Router) Stats(ctx context.Context, id string) (st runtime.Stats, err error) {
	err = r.on(ctx, id, func(d runtime.Driver) (e error) { st, e = d.Stats(ctx, id); return e })
	return st, err
}

// Info implements runtime.Driver.
func (r *Router) Info(ctx context.Context, id string) (info runtime.Info, err error) {
	err = r.on(ctx, id, func(d runtime.Driver) (e error) { info, e = d.Info(ctx, id); return e })
	return info, err
}

// List implements runtime.Driver: the embedded node's sandboxes (each
// joined node lists its own).
func (r *Router) List(ctx context.Context) ([]runtime.Info, error) { return r.local.List(ctx) }

// DialContext implements runtime.Dialer: a sandbox on a joined node is
// reached through that node's sandbox service.
func (r *Router) DialContext(ctx context.Context, id string, port int) (c net.Conn, err error) {
	err = r.byID(ctx, id, func(runtime.Driver) (e error) { c, e = r.local.DialContext(ctx, id, port); return e },
		func(d Remote) (e error) { c, e = d.DialContext(ctx, id, port); return e })
	return c, err
}

// Update implements runtime.Updater.
func (r *Router) Update(ctx context.Context, id string, l runtime.Limits) error {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return err
	case d == nil:
		return r.local.Update(ctx, id, l)
	}
	if u, ok := d.(runtime.Updater); ok {
		return u.Update(ctx, id, l)
	}
	return cannot(id, n, "change limits")
}

// KillUserProcesses implements runtime.UserKiller.
func (r *Router) KillUserProcesses(ctx context.Context, id string) error {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return err
	case d == nil:
		return r.local.KillUserProcesses(ctx, id)
	}
	if k, ok := d.(runtime.UserKiller); ok {
		return k.KillUserProcesses(ctx, id)
	}
	return cannot(id, n, "kill user processes")
}

// Logs implements runtime.LogReader.
func (r *Router) Logs(ctx context.Context, id string, max int64) ([]byte, error) {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case d == nil:
		return r.local.Logs(ctx, id, max)
	}
	if l, ok := d.(runtime.LogReader); ok {
		return l.Logs(ctx, id, max)
	}
	return nil, cannot(id, n, "read logs")
}

// localOnly runs an ability only the embedded node has.
func (r *Router) localOnly(ctx context.Context, id, what string, call func() error) error {
	_, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return err
	case n != "":
		return cannot(id, n, what)
	}
	return call()
}

// Checkpoint implements runtime.Checkpointer (the embedded node only).
func (r *Router) Checkpoint(ctx context.Context, id, dir string) error {
	return r.localOnly(ctx, id, "checkpoint", func() error { return r.local.Checkpoint(ctx, id, dir) })
}

// Restore implements runtime.Checkpointer (the embedded node only).
func (r *Router) Restore(ctx context.Context, id, dir string) error {
	return r.localOnly(ctx, id, "restore", func() error { return r.local.Restore(ctx, id, dir) })
}

// SetNetworkPolicy implements runtime.NetworkPolicer (the embedded node
// only).
func (r *Router) SetNetworkPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) error {
	return r.localOnly(ctx, id, "change a network policy", func() error { return r.local.SetNetworkPolicy(ctx, id, p) })
}

// SetNiceness implements runtime.Prioritizer (the embedded node only).
func (r *Router) SetNiceness(ctx context.Context, id string, niceness int) error {
	return r.localOnly(ctx, id, "set a priority", func() error { return r.local.SetNiceness(ctx, id, niceness) })
}

// WritableLayer implements runtime.WritableLayerReader (the embedded
// node only).
func (r *Router) WritableLayer(ctx context.Context, id string) (dir string, uid uint32, err error) {
	err = r.localOnly(ctx, id, "keep a sandbox's files as a layer", func() (e error) { dir, uid, e = r.local.WritableLayer(ctx, id); return e })
	return dir, uid, err
}

// CheckpointClone implements runtime.Cloner (the embedded node only).
func (r *Router) CheckpointClone(ctx context.Context, id, dir string) error {
	return r.localOnly(ctx, id, "fork", func() error { return r.local.CheckpointClone(ctx, id, dir) })
}

// CheckpointCloneProcesses implements runtime.ProcessCloner (the
// embedded node only).
func (r *Router) CheckpointCloneProcesses(ctx context.Context, id, dir string) error {
	return r.localOnly(ctx, id, "snapshot", func() error { return r.local.CheckpointCloneProcesses(ctx, id, dir) })
}

// RestoreClone implements runtime.Cloner: the clone is made on the
// embedded node.
func (r *Router) RestoreClone(ctx context.Context, spec runtime.Spec, dir string) error {
	return r.localOnly(ctx, spec.ID, "fork", func() error { return r.local.RestoreClone(ctx, spec, dir) })
}
