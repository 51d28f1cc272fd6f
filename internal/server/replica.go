package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// leadRetry is how long a replica waits before it asks for the
// leadership again after the store failed to answer.
const leadRetry = time.Second

// runBackground starts the work one process does for the whole store,
// until ctx ends: the joined nodes' heartbeat monitor and their leases.
// (The lifecycle's timeouts and monitor are started beside it.) wait
// returns once what started has ended, after ctx ends; the caller calls
// it, also after an error, before it gives the leadership up or closes
// the store.
func (s *Server) runBackground(ctx context.Context) (wait func(), err error) {
	var wg sync.WaitGroup
	wg.Go(func() { s.registry.Monitor(ctx) })
	return wg.Wait, s.keepNodeLeases(ctx, &wg)
}

// leadBackground runs on a control-plane replica until ctx ends: it
// waits for the store's background leadership, does the background work
// (timeouts, the sandbox monitor and metric history, the nodes'
// heartbeats and leases) while it holds it, and stops it when the
// leadership is lost, to wait for it again. Requests are served
// throughout, by every replica.
func (s *Server) leadBackground(ctx context.Context) {
	for ctx.Err() == nil {
		lease, err := s.leader.Lead(ctx, backgroundLeadership)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("wait for the background work's leadership", logx.Err(err))
				select {
				case <-ctx.Done():
				case <-time.After(leadRetry):
				}
			}
			continue
		}
		if !s.lead(ctx, lease) {
			select { // the lease is released: give another replica its turn
			case <-ctx.Done():
			case <-time.After(leadRetry):
			}
		}
	}
}

// lead does the background work while lease holds, or until ctx ends;
// false if the work could not start.
func (s *Server) lead(ctx context.Context, lease store.Lease) bool {
	s.log.Info("leading the background work", slog.Bool("leader", true))
	wctx, stop := context.WithCancel(ctx)
	wait := func() {}
	defer func() {
		stop()
		wait() // none of the work runs on beside the next leader
		s.lifecycle.Unlead()
		if err := lease.Release(); err != nil {
			s.log.Warn("release the background work's leadership", logx.Err(err))
		}
	}()
	if err := s.lifecycle.Lead(wctx); err != nil {
		s.log.Error("start the background work", logx.Err(err))
		return false
	}
	w, err := s.runBackground(wctx)
	wait = w
	if err != nil {
		s.log.Error("start the background work", logx.Err(err))
		return false
	}
	select {
	case <-lease.Lost():
		s.log.Error("lost the background work's leadership (the database connection broke); another replica takes it over")
	case <-ctx.Done():
	}
	return true
}

// anyLost is closed when one of leases is lost before done; never
// without leases.
func anyLost(done <-chan struct{}, leases []store.Lease) <-chan struct{} {
	if len(leases) == 0 {
		return nil
	}
	lost := make(chan struct{})
	var once sync.Once
	for _, l := range leases {
		go func() {
			select {
			case <-l.Lost():
				once.Do(func() { close(lost) })
			case <-done:
			}
		}()
	}
	return lost
}

// replicaSetup takes the store's setup leadership, which replicas hold
// one at a time while they start, and refuses to go on if a server with
// an embedded node runs on the database: it leads serverLeadership for
// as long as it runs, and every replica shares it for as long as it
// runs (the share is one of the server's leases, released when it
// closes, and Run stops if it is lost), so whichever of the two comes
// second is refused, however they interleave. The caller releases the
// setup leadership once its setup is done.
func (s *Server) replicaSetup(ctx context.Context) (release func() error, err error) {
	wctx, cancel := context.WithTimeout(ctx, setupWait)
	defer cancel()
	setup, err := s.leader.Lead(wctx, setupLeadership)
	if err != nil {
		return nil, fmt.Errorf("wait for another replica's start: %w", err)
	}
	share, err := s.leader.TryShare(ctx, serverLeadership)
	if err == nil {
		s.leases = append(s.leases, share)
	} else if errors.Is(err, errdefs.ErrFailedPrecondition) {
		err = fmt.Errorf("a soulbox server with an embedded node is running on this database; control-plane replicas (--embedded-node=off) share a database only with each other: %w", errdefs.ErrFailedPrecondition)
	}
	if err != nil {
		return nil, errors.Join(err, setup.Release())
	}
	return setup.Release, nil
}
