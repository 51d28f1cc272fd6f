package server

import (
	"context"
	"sync"

	"github.com/soulbox/soulbox/internal/nodelease"
)

// keepNodeLeases runs the joined nodes' leases until ctx ends: a node
// silent past --node-lease loses its sandboxes (ended as lost), and a
// node that returns is told to destroy what the store no longer holds
// live on it. Without a node listener there are no joined nodes. One
// process keeps the leases: the server with an embedded node, alone on
// its database, or the control-plane replica that leads (runBackground);
// wg counts the keeper until it ends.
func (s *Server) keepNodeLeases(ctx context.Context, wg *sync.WaitGroup) error {
	if s.router == nil || s.nodeDrivers == nil {
		return nil
	}
	k, err := nodelease.New(nodelease.Config{Store: s.store, Lose: s.lifecycle.Lose,
		Runtime: func(ctx context.Context, node string) (nodelease.Runtime, error) {
			return s.nodeDrivers.driver(ctx, node)
		},
		Lease: s.cfg.NodeLease, HeartbeatTimeout: s.cfg.NodeHeartbeatTimeout, Log: s.log.With("component", "node-lease")})
	if err != nil {
		return err
	}
	wg.Go(func() { k.Run(ctx) })
	return nil
}
