package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/store"
)

// eventsChannel is the channel every transaction that records an event
// notifies (insertEvent); PostgreSQL delivers the notification at the
// commit, once per transaction however many events it recorded.
const eventsChannel = "soulbox_events"

// watchRetry is how long WatchEvents waits before listening again on a
// new connection after one broke.
const watchRetry = time.Second

var _ store.EventWatcher = (*Store)(nil)

// WatchEvents implements store.EventWatcher: a connection of its own,
// outside the pool, LISTENs on eventsChannel. A database that vanishes
// without closing the connection may go unnoticed for a while: the
// readers' timer covers that.
func (s *Store) WatchEvents(ctx context.Context, changed func()) {
	for {
		s.listen(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		// The connection broke: the readers' timer covers the gap, and
		// what was recorded meanwhile is announced at the next listen.
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// listen listens on one connection until it breaks or ctx ends.
func (s *Store) listen(ctx context.Context, changed func()) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+eventsChannel); err != nil {
		return
	}
	changed() // what was recorded before the LISTEN took
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		changed()
	}
}
