package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

var (
	_ store.StepLeader = (*Store)(nil)
	_ store.TryLeader  = (*stepLeases)(nil)
	_ store.Lease      = (*stepLease)(nil)
)

// StepLeases implements store.StepLeader: the holds of one Store share
// one session, opened by the first and closed at the first check
// (leaseTiming.check, a second) that finds none held. A lease of
// its own per hold (TryLead) would open a connection outside the pool
// for each pause or resume under way: a burst of them (timeouts pausing
// many sandboxes at once) would take the database's max_connections
// from every replica's pool. The locks are the same advisory locks, of
// the same keys, as TryLead's: a hold here and a TryLead of the same
// name anywhere exclude each other.
func (s *Store) StepLeases() store.TryLeader { return s.steps }

// stepLeases is a Store's shared session of step holds.
type stepLeases struct {
	s *Store

	mu   sync.Mutex // guards sess and held, and runs one query at a time on sess
	sess *stepSession
	held map[string]*stepLease
}

// stepSession is one connection holding step locks, watched like a
// lease's (leaseTiming) until it is lost or found holding nothing at a
// check: the leading replica's tries at the steps of others (settleLeft)
// and a burst of pauses reuse it rather than each opening one.
type stepSession struct {
	conn *pgx.Conn
	stop chan struct{} // closed when it ends
	done chan struct{} // closed when watch returns
}

type stepLease struct {
	l    *stepLeases
	name string
	key  int64
	sess *stepSession
	lost chan struct{}
}

func (l *stepLease) Lost() <-chan struct{} { return l.lost }

// TryLead takes name if no process, this one included, holds it, and
// fails with ErrFailedPrecondition at once if one does.
func (ls *stepLeases) TryLead(ctx context.Context, name string) (store.Lease, error) {
	if name == "" {
		return nil, fmt.Errorf("leadership: empty name: %w", errdefs.ErrInvalidArgument)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if _, ok := ls.held[name]; ok {
		// The session's advisory locks stack: a second hold in this
		// process would be granted, so it is refused here.
		return nil, fmt.Errorf("leadership %q is held by this process: %w", name, errdefs.ErrFailedPrecondition)
	}
	if ls.sess == nil {
		conn, err := ls.s.leaseConn(ctx)
		if err != nil {
			return nil, fmt.Errorf("leadership %q: %w", name, err)
		}
		ls.sess = &stepSession{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
		go ls.watch(ls.sess)
	}
	sess := ls.sess
	key := lockKey(name)
	// The try does not wait, so the caller's cancel is not passed on: a
	// cancel request reaches the session, not the query, and one that
	// came late would cancel another hold's query on it.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ls.s.leaseTiming.ping)
	defer cancel()
	var got bool
	err := sess.conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
	if err == nil && got {
		l := &stepLease{l: ls, name: name, key: key, sess: sess, lost: make(chan struct{})}
		ls.held[name] = l
		return l, nil
	}
	if sess.conn.IsClosed() {
		ls.loseLocked(sess)
	}
	if err != nil {
		return nil, fmt.Errorf("leadership %q: %w", name, err)
	}
	return nil, fmt.Errorf("leadership %q is held by another process: %w", name, errdefs.ErrFailedPrecondition)
}

// Release implements store.Lease. It is safe to call more than once and
// after Lost.
func (l *stepLease) Release() error {
	ls := l.l
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.held[l.name] != l {
		return nil // released, or lost with its session
	}
	delete(ls.held, l.name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var unlocked bool
	err := l.sess.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&unlocked)
	if err == nil && !unlocked {
		err = errors.New("the session did not hold it")
	}
	if err != nil {
		// The lock may be held still: only the session's end frees it
		// for sure, and every other hold on it with it.
		ls.loseLocked(l.sess)
		return fmt.Errorf("release leadership %q: %w", l.name, err)
	}
	return nil
}

// endLocked closes sess, which holds nothing.
func (ls *stepLeases) endLocked(sess *stepSession) {
	if ls.sess != sess {
		return
	}
	ls.sess = nil
	close(sess.stop)
	_ = sess.conn.Close(context.Background())
}

// loseLocked closes sess and tells each hold on it that it is lost.
func (ls *stepLeases) loseLocked(sess *stepSession) {
	for name, l := range ls.held {
		if l.sess == sess {
			delete(ls.held, name)
			close(l.lost)
		}
	}
	ls.endLocked(sess)
}

// watch pings sess until it holds nothing at a check (it is closed),
// or until it is gone or lossAfter pings in a row failed (see
// leaseTiming): then its holds are lost.
func (ls *stepLeases) watch(sess *stepSession) {
	defer close(sess.done)
	t := time.NewTicker(ls.s.leaseTiming.check)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-sess.stop:
			return
		case <-t.C:
		}
		ls.mu.Lock()
		if ls.sess != sess {
			ls.mu.Unlock()
			return
		}
		if len(ls.held) == 0 {
			ls.endLocked(sess)
			ls.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), ls.s.leaseTiming.ping)
		_, err := sess.conn.Exec(ctx, `SELECT 1`)
		cancel()
		if err == nil {
			failures = 0
		} else {
			failures++
		}
		if err != nil && (sess.conn.IsClosed() || failures >= ls.s.leaseTiming.lossAfter) {
			ls.loseLocked(sess)
			ls.mu.Unlock()
			return
		}
		ls.mu.Unlock()
	}
}
