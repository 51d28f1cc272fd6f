package noderoute

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.CheckpointKeeper = (*Router)(nil)

// ability runs call with sandbox id's driver as an A: the embedded
// node's, or its joined node's if that has the ability (what, for the
// refusal, otherwise).
func ability[A any](ctx context.Context, r *Router, id, what string, call func(A) error) error {
	return r.routed(ctx, id, func(d Remote, n string) error {
		if d == nil {
			a, ok := any(r.local).(A)
			if !ok {
				return fmt.Errorf("the embedded node cannot %s: %w", what, errdefs.ErrFailedPrecondition)
			}
			return call(a)
		}
		a, ok := d.(A)
		if !ok {
			return cannot(id, n, what)
		}
		return call(a)
	})
}

// Recreate implements runtime.Recreator.
func (r *Router) Recreate(ctx context.Context, id string) error {
	return ability(ctx, r, id, "boot a sandbox from its files", func(rc runtime.Recreator) error { return rc.Recreate(ctx, id) })
}

// Release implements runtime.Recreator.
func (r *Router) Release(ctx context.Context, id string) error {
	return ability(ctx, r, id, "release a stopped sandbox", func(rc runtime.Recreator) error { return rc.Release(ctx, id) })
}

// RepairNetwork implements runtime.NetworkRepairer.
func (r *Router) RepairNetwork(ctx context.Context, id string) error {
	return ability(ctx, r, id, "repair a network", func(nr runtime.NetworkRepairer) error { return nr.RepairNetwork(ctx, id) })
}

// keeper runs call with the checkpoint keeper of sandbox id's joined
// node. The embedded node keeps no checkpoints itself: the control
// plane names their directory (runtime.Checkpointer).
func (r *Router) keeper(ctx context.Context, id string, call func(runtime.CheckpointKeeper) error) error {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return err
	case d == nil:
		return fmt.Errorf("sandbox %q runs on the embedded node, whose checkpoints the control plane keeps: %w", id, errdefs.ErrFailedPrecondition)
	}
	k, ok := d.(runtime.CheckpointKeeper)
	if !ok {
		return cannot(id, n, "pause a sandbox with its memory")
	}
	return call(k)
}

// KeepCheckpoint implements runtime.CheckpointKeeper (joined nodes only).
func (r *Router) KeepCheckpoint(ctx context.Context, id string) (size int64, err error) {
	err = r.keeper(ctx, id, func(k runtime.CheckpointKeeper) (e error) { size, e = k.KeepCheckpoint(ctx, id); return e })
	return size, err
}

// RestoreKept implements runtime.CheckpointKeeper (joined nodes only).
func (r *Router) RestoreKept(ctx context.Context, id string) error {
	return r.keeper(ctx, id, func(k runtime.CheckpointKeeper) error { return k.RestoreKept(ctx, id) })
}

// KeptCheckpoint implements runtime.CheckpointKeeper (joined nodes only).
func (r *Router) KeptCheckpoint(ctx context.Context, id string) (size int64, ok bool, err error) {
	err = r.keeper(ctx, id, func(k runtime.CheckpointKeeper) (e error) { size, ok, e = k.KeptCheckpoint(ctx, id); return e })
	return size, ok, err
}

// DropCheckpoint implements runtime.CheckpointKeeper (joined nodes only).
func (r *Router) DropCheckpoint(ctx context.Context, id string) error {
	return r.keeper(ctx, id, func(k runtime.CheckpointKeeper) error { return k.DropCheckpoint(ctx, id) })
}

var _ runtime.CloneKeeper = (*Router)(nil)

// cloneKeeper runs call with the clone keeper of sandbox id's joined
// node (the embedded node clones into directories the control plane
// names: runtime.Cloner).
func (r *Router) cloneKeeper(ctx context.Context, id string, call func(runtime.CloneKeeper) error) error {
	d, n, err := r.remote(ctx, id)
	switch {
	case err != nil:
		return err
	case d == nil:
		return fmt.Errorf("sandbox %q runs on the embedded node, whose clone checkpoints the control plane keeps: %w", id, errdefs.ErrFailedPrecondition)
	}
	k, ok := d.(runtime.CloneKeeper)
	if !ok {
		return cannot(id, n, "fork")
	}
	return call(k)
}

// KeepClone implements runtime.CloneKeeper (joined nodes only).
func (r *Router) KeepClone(ctx context.Context, id string) (name string, err error) {
	err = r.cloneKeeper(ctx, id, func(k runtime.CloneKeeper) (e error) { name, e = k.KeepClone(ctx, id); return e })
	return name, err
}

// RestoreKeptClone implements runtime.CloneKeeper: the new sandbox goes
// to the node the store records it on (its source's).
func (r *Router) RestoreKeptClone(ctx context.Context, spec runtime.Spec, name string) error {
	return r.cloneKeeper(ctx, spec.ID, func(k runtime.CloneKeeper) error { return k.RestoreKeptClone(ctx, spec, name) })
}

// DropClone implements runtime.CloneKeeper, on the node of sandbox id.
func (r *Router) DropClone(ctx context.Context, id, name string) error {
	return r.cloneKeeper(ctx, id, func(k runtime.CloneKeeper) error { return k.DropClone(ctx, id, name) })
}
