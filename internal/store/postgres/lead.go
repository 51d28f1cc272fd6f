package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

var _ store.Leader = (*Store)(nil)

// leaseCheck is how often a held leadership checks that its connection,
// and so its advisory lock, is still there.
const leaseCheck = time.Second

// Leadership is a session-level advisory lock held on a connection taken
// out of the pool for as long as it is held: PostgreSQL releases the lock
// when that session ends, so a process that dies or loses the database
// gives the leadership up by itself, and the holder learns of a broken
// connection within leaseCheck.

// TryLead implements store.Leader.
func (s *Store) TryLead(ctx context.Context, name string) (store.Lease, error) {
	return s.lead(ctx, name, false)
}

// Lead implements store.Leader.
func (s *Store) Lead(ctx context.Context, name string) (store.Lease, error) {
	return s.lead(ctx, name, true)
}

func (s *Store) lead(ctx context.Context, name string, wait bool) (store.Lease, error) {
	if name == "" {
		return nil, fmt.Errorf("leadership: empty name: %w", errdefs.ErrInvalidArgument)
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("leadership %q: %w", name, err)
	}
	// The lock belongs to this session: it must not go back to the pool,
	// where other queries would share it and Close would not end it.
	conn := pc.Hijack()
	key := lockKey(name)
	var got bool
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
		got = err == nil
	} else {
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
	}
	if err != nil || !got {
		_ = conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("leadership %q: %w", name, err)
		}
		return nil, fmt.Errorf("leadership %q is held by another process: %w", name, errdefs.ErrFailedPrecondition)
	}
	l := &lease{name: name, key: key, conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.watch()
	return l, nil
}

// lockKey is the advisory lock's 64-bit key for a leadership's name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("soulbox/leader/" + name))
	return int64(h.Sum64())
}

type lease struct {
	name string
	key  int64

	mu   sync.Mutex // guards conn: a pgx.Conn runs one query at a time
	conn *pgx.Conn

	lost     chan struct{}
	stop     chan struct{} // closed by Release
	done     chan struct{} // closed when watch returns
	stopOnce sync.Once
}

func (l *lease) Lost() <-chan struct{} { return l.lost }

// watch pings the session until Release or until the ping fails, which
// means the lock is gone with the session.
func (l *lease) watch() {
	defer close(l.done)
	t := time.NewTicker(leaseCheck)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheck)
		_, err := l.conn.Exec(ctx, `SELECT 1`)
		cancel()
		if err != nil {
			_ = l.conn.Close(context.Background())
			l.mu.Unlock()
			close(l.lost)
			return
		}
		l.mu.Unlock()
	}
}

// Release implements store.Lease.
func (l *lease) Release() error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stop)
		<-l.done
		select {
		case <-l.lost:
			return // the session, and the lock with it, is gone already
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.mu.Lock()
		defer l.mu.Unlock()
		// Closing the session alone would release the lock too; unlocking
		// first says so to the server at once.
		_, uerr := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
		err = errors.Join(uerr, l.conn.Close(ctx))
		if err != nil {
			err = fmt.Errorf("release leadership %q: %w", l.name, err)
		}
	})
	return err
}
