package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// serverLeadership is the leadership a server with an embedded node
// holds on a shared store for as long as it runs.
const serverLeadership = "server"

// backgroundLeadership is held by the one process that does a shared
// store's background work: a server with an embedded node for as long as
// it runs, or one of the control-plane replicas at a time.
const backgroundLeadership = "background"

// openedStore is the store a server opened, with its hold on it.
type openedStore struct {
	db store.Store
	// leases are held until the server closes; Run stops when the first
	// is lost (nil for a store of one process, and for a replica).
	leases []store.Lease
	// leader is set for a control-plane replica on a shared store: it
	// waits for backgroundLeadership in the background.
	leader store.Leader
}

// openStore opens the configured store. On a store several processes can
// share (PostgreSQL), a server with an embedded node takes the server's
// and the background work's leadership, and is refused beside any other
// server: it runs the sandboxes of its own host and reconciles the store
// against them, so a second one would end the first one's sandboxes as
// lost. Control-plane replicas (EmbeddedNode off) run beside each other,
// and are refused beside a server with an embedded node.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (openedStore, error) {
	db, err := backend.Open(ctx, cfg.Store, cfg.DataDir)
	if err != nil {
		return openedStore{}, err
	}
	leader, ok := db.(store.Leader)
	if !ok {
		return openedStore{db: db}, nil
	}
	fail := func(err error) (openedStore, error) { return openedStore{}, errors.Join(err, db.Close()) }
	if !cfg.embedded() {
		// Whether a server with an embedded node runs here is checked
		// under the setup leadership (replicaSetup), one replica at a
		// time.
		log.Info("store opened", slog.String("backend", backend.Name(cfg.Store)), slog.Bool("replica", true))
		return openedStore{db: db, leader: leader}, nil
	}
	lease, err := leader.TryLead(ctx, serverLeadership)
	if err != nil {
		if errors.Is(err, errdefs.ErrFailedPrecondition) {
			err = fmt.Errorf("another soulbox server is running on this database; a server with an embedded node needs a database of its own: %w", errdefs.ErrFailedPrecondition)
		}
		return fail(err)
	}
	bg, err := leader.TryLead(ctx, backgroundLeadership)
	if err != nil {
		if errors.Is(err, errdefs.ErrFailedPrecondition) {
			err = fmt.Errorf("control-plane replicas (--embedded-node=off) are running on this database; a server with an embedded node needs a database of its own: %w", errdefs.ErrFailedPrecondition)
		}
		return fail(errors.Join(err, lease.Release()))
	}
	log.Info("store opened", slog.String("backend", backend.Name(cfg.Store)), slog.Bool("leader", true))
	return openedStore{db: db, leases: []store.Lease{lease, bg}}, nil
}
