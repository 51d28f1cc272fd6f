// Package nodelease holds each joined node's lease on the sandboxes the
// store records on it. A node silent past its lease loses them: each
// live sandbox recorded on it is ended in the store with reason lost,
// naming the node and since when it is silent, which frees its team's
// quota and stops its timers. A node that heartbeats again is settled
// with the store: what its runtime holds that the store does not record
// live on it (lost meanwhile, killed while it was away, or never
// recorded at all) is destroyed, so nothing runs unaccounted, and what
// the store still records live it keeps. The embedded node has no lease:
// it is this process.
package nodelease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
)

// DefaultLease is how long a joined node may be silent before its
// sandboxes are lost, unless configured.
const DefaultLease = 60 * time.Second

// Runtime is what the keeper asks of a joined node's driver.
type Runtime interface {
	List(ctx context.Context) ([]runtime.Info, error)
	Destroy(ctx context.Context, id string) error
}

// Store is what the keeper reads: the nodes and the live sandboxes.
type Store interface {
	ListNodes(ctx context.Context) ([]store.Node, error)
	ListSandboxes(ctx context.Context, f store.SandboxFilter) ([]store.Sandbox, error)
}

// Config is what a Keeper is built from.
type Config struct {
	Store Store
	// Lose ends a live sandbox as lost with the message, without a call
	// to its node (lifecycle.Manager.Lose); a sandbox ended meanwhile is
	// ErrNotFound.
	Lose func(ctx context.Context, id, message string) error
	// Runtime is the driver of a joined node.
	Runtime func(ctx context.Context, node string) (Runtime, error)
	// Lease: a node silent longer loses its sandboxes. It must be longer
	// than HeartbeatTimeout.
	Lease time.Duration
	// HeartbeatTimeout: a node silent longer is away, and settled again
	// when it returns.
	HeartbeatTimeout time.Duration
	Log              *slog.Logger
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Keeper enforces the leases. Only one control plane may run it on a
// store (the server holds the store's leadership); even so, every end
// is a compare-and-set, so a sandbox is lost once.
type Keeper struct {
	cfg Config

	mu      sync.Mutex
	settled map[string]bool // nodes settled since they last went silent
}

// New returns a keeper; a lease not longer than the heartbeat timeout is
// ErrInvalidArgument.
func New(cfg Config) (*Keeper, error) {
	if cfg.Lease <= cfg.HeartbeatTimeout {
		return nil, fmt.Errorf("node lease %s must be longer than the heartbeat timeout %s: %w", cfg.Lease, cfg.HeartbeatTimeout, errdefs.ErrInvalidArgument)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{cfg: cfg, settled: map[string]bool{}}, nil
}

// Run checks the leases every sixth of the heartbeat timeout (half a
// heartbeat interval) until ctx ends.
func (k *Keeper) Run(ctx context.Context) {
	t := time.NewTicker(max(k.cfg.HeartbeatTimeout/6, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.Check(ctx); err != nil && ctx.Err() == nil {
				k.cfg.Log.Warn("node lease check", "err", err)
			}
		}
	}
}

// Check runs once: the sandboxes of each joined node silent past its
// lease are lost, and each node heartbeating again since it was last
// silent (or since this keeper started) is settled.
func (k *Keeper) Check(ctx context.Context) error {
	ns, err := k.cfg.Store.ListNodes(ctx)
	if err != nil {
		return err
	}
	now := k.cfg.Now()
	var (
		live []store.Sandbox // read once, when a node first needs it
		read bool
		errs []error
	)
	for _, n := range ns {
		if n.Embedded {
			continue
		}
		last := n.HeartbeatAt
		if last.IsZero() {
			last = n.JoinedAt
		}
		silent := now.Sub(last)
		switch {
		case silent > k.cfg.Lease:
			k.forget(n.ID)
			if !read {
				if live, err = k.cfg.Store.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates}); err != nil {
					return err
				}
				read = true
			}
			// One node's failure does not hold up the others'.
			errs = append(errs, k.expire(ctx, n.ID, last, on(live, n.ID)))
		case silent > k.cfg.HeartbeatTimeout || n.Status == store.NodeUnhealthy:
			k.forget(n.ID)
		case n.Report.ServiceAddress != "" && !k.isSettled(n.ID):
			if err := k.settle(ctx, n.ID); err != nil {
				// Tried again at the next check.
				k.cfg.Log.Warn("settle returning node", "node", n.ID, "err", err)
				continue
			}
			k.mu.Lock()
			k.settled[n.ID] = true
			k.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

func (k *Keeper) forget(node string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.settled, node)
}

func (k *Keeper) isSettled(node string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.settled[node]
}

// on selects the sandboxes recorded on node.
func on(sbs []store.Sandbox, node string) []store.Sandbox {
	var out []store.Sandbox
	for _, sb := range sbs {
		if sb.Node == node {
			out = append(out, sb)
		}
	}
	return out
}
