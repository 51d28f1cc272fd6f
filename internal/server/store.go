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

// serverLeadership is the leadership a server holds on a shared store for
// as long as it runs.
const serverLeadership = "server"

// openStore opens the configured store. On a store several processes can
// share (PostgreSQL), it also takes the server's leadership, and a second
// server on the same database is refused: a server runs the sandboxes of
// its own host and reconciles the store against them, so a second one
// would end the first one's sandboxes as lost, and both would fire every
// timeout. The lease is nil for a store of one process.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, store.Lease, error) {
	db, err := backend.Open(ctx, cfg.Store, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	leader, ok := db.(store.Leader)
	if !ok {
		return db, nil, nil
	}
	lease, err := leader.TryLead(ctx, serverLeadership)
	if err != nil {
		if errors.Is(err, errdefs.ErrFailedPrecondition) {
			err = fmt.Errorf("another soulbox server is running on this database; one server per database until control planes and nodes are split: %w", errdefs.ErrFailedPrecondition)
		}
		return nil, nil, errors.Join(err, db.Close())
	}
	log.Info("store opened", slog.String("backend", backend.Name(cfg.Store)), slog.Bool("leader", true))
	return db, lease, nil
}
