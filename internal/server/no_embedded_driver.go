package server

import (
	"context"
	"fmt"
	"net"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// noEmbeddedNode stands in for the embedded node's driver on a control
// plane that has none (--embedded-node=off): it holds no sandbox, so a
// call on one is not found, and anything that would run one here is
// unavailable, saying why. Placement never chooses it: the registry
// lists no embedded node.
type noEmbeddedNode struct{}

var _ telemetry.Driver = noEmbeddedNode{}

// errNoEmbeddedNode says why this control plane cannot do a thing itself.
var errNoEmbeddedNode = fmt.Errorf("this control plane runs no sandboxes itself (--embedded-node=off); they run on joined nodes: %w", errdefs.ErrUnavailable)

func notHere(id string) error {
	return fmt.Errorf("sandbox %q is on no node of this control plane: %w", id, errdefs.ErrNotFound)
}

func (noEmbeddedNode) Name() string { return "none" }
func (noEmbeddedNode) Create(context.Context, runtime.Spec) (runtime.Info, error) {
	return runtime.Info{}, errNoEmbeddedNode
}
func (noEmbeddedNode) Start(_ context.Context, id string) error { return notHere(id) }
func (noEmbeddedNode) Exec(_ context.Context, id string, _ runtime.ExecRequest) (runtime.ExecResult, error) {
	return runtime.ExecResult{}, notHere(id)
}
func (noEmbeddedNode) Pause(_ context.Context, id string) error   { return notHere(id) }
func (noEmbeddedNode) Resume(_ context.Context, id string) error  { return notHere(id) }
func (noEmbeddedNode) Stop(_ context.Context, id string) error    { return notHere(id) }
func (noEmbeddedNode) Destroy(_ context.Context, id string) error { return notHere(id) }
func (noEmbeddedNode) Stats(_ context.Context, id string) (runtime.Stats, error) {
	return runtime.Stats{}, notHere(id)
}
func (noEmbeddedNode) Info(_ context.Context, id string) (runtime.Info, error) {
	return runtime.Info{}, notHere(id)
}
func (noEmbeddedNode) List(context.Context) ([]runtime.Info, error) { return nil, nil }
func (noEmbeddedNode) DialContext(_ context.Context, id string, _ int) (net.Conn, error) {
	return nil, notHere(id)
}
func (noEmbeddedNode) Checkpoint(_ context.Context, id, _ string) error { return notHere(id) }
func (noEmbeddedNode) Restore(context.Context, string, string) error    { return errNoEmbeddedNode }
func (noEmbeddedNode) Recreate(context.Context, string) error           { return errNoEmbeddedNode }
func (noEmbeddedNode) Release(_ context.Context, id string) error       { return notHere(id) }
func (noEmbeddedNode) Update(_ context.Context, id string, _ runtime.Limits) error {
	return notHere(id)
}
func (noEmbeddedNode) SetNetworkPolicy(_ context.Context, id string, _ runtime.NetworkPolicy) error {
	return notHere(id)
}
func (noEmbeddedNode) RepairNetwork(_ context.Context, id string) error      { return notHere(id) }
func (noEmbeddedNode) SetNiceness(_ context.Context, id string, _ int) error { return notHere(id) }
func (noEmbeddedNode) KillUserProcesses(_ context.Context, id string) error  { return notHere(id) }
func (noEmbeddedNode) Logs(_ context.Context, id string, _ int64) ([]byte, error) {
	return nil, notHere(id)
}
func (noEmbeddedNode) WritableLayer(_ context.Context, id string) (string, uint32, error) {
	return "", 0, notHere(id)
}
func (noEmbeddedNode) CheckpointClone(_ context.Context, id, _ string) error { return notHere(id) }
func (noEmbeddedNode) RestoreClone(context.Context, runtime.Spec, string) error {
	return errNoEmbeddedNode
}
func (noEmbeddedNode) CheckpointCloneProcesses(_ context.Context, id, _ string) error {
	return notHere(id)
}
